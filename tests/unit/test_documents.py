"""Document parsing: PDF pages, CSV with detection, safe XML, JSON, format detection."""

from __future__ import annotations

import pytest

from flowmaestro.executors.documents import (
    DocumentError,
    detect_format,
    parse_csv,
    parse_json,
    parse_pdf,
    parse_xml,
)
from tests.support.pdf import make_pdf

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<lolz>&lol3;</lolz>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<r>&xxe;</r>"""


def test_pdf_text_per_page() -> None:
    parsed = parse_pdf(make_pdf(["Invoice 42", "Total (EUR) 17"]))
    assert parsed == {"format": "pdf", "pages": ["Invoice 42", "Total (EUR) 17"], "page_count": 2}


def test_pdf_garbage_is_a_clean_error() -> None:
    with pytest.raises(DocumentError):
        parse_pdf(b"%PDF-1.4 not really")


def test_csv_detects_header_and_delimiter() -> None:
    parsed = parse_csv(b"name;age\nann;31\nbob;42\n")
    assert parsed["delimiter"] == ";" and parsed["header"] == ["name", "age"]
    assert parsed["rows"] == [{"name": "ann", "age": "31"}, {"name": "bob", "age": "42"}]


def test_csv_without_header_and_with_options() -> None:
    parsed = parse_csv(b"1|2\n3|4\n5|6\n", delimiter="|", has_header=False, max_rows=2)
    assert parsed["header"] is None
    assert parsed["rows"] == [["1", "2"], ["3", "4"]] and parsed["truncated"] is True


def test_xml_as_nested_elements() -> None:
    parsed = parse_xml(b'<order id="7"><item sku="a">Pen</item><item sku="b"/></order>')
    root = parsed["root"]
    assert root["tag"] == "order" and root["attributes"] == {"id": "7"}
    assert [c["attributes"]["sku"] for c in root["children"]] == ["a", "b"]
    assert root["children"][0]["text"] == "Pen"


@pytest.mark.parametrize("document", [BILLION_LAUGHS, EXTERNAL_ENTITY, b"<a><b></a>"])
def test_unsafe_or_broken_xml_is_refused(document: bytes) -> None:
    with pytest.raises(DocumentError):
        parse_xml(document)


def test_json_and_bad_json() -> None:
    assert parse_json(b'{"a": [1, 2]}') == {"format": "json", "data": {"a": [1, 2]}}
    with pytest.raises(DocumentError):
        parse_json(b"{nope")


@pytest.mark.parametrize(
    ("data", "name", "content_type", "expected"),
    [
        (b"%PDF-1.4", "", "", "pdf"),
        (b"a,b", "x.json", "", "json"),
        (b"{}", "", "text/csv", "csv"),
        (b"  <r/>", "", "", "xml"),
        (b"[1]", "", "", "json"),
        (b"a,b\n1,2", "", "", "csv"),
    ],
)
def test_format_detection(data: bytes, name: str, content_type: str, expected: str) -> None:
    assert detect_format(data, name, content_type) == expected
