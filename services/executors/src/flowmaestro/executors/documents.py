"""Parsing documents into JSON: PDF (text per page), CSV, XML (entity-safe) and JSON.

Pure functions over bytes; a document that cannot be parsed raises `DocumentError`.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any, Literal
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError
from defusedxml.ElementTree import fromstring as parse_xml_safely

__all__ = [
    "DocumentError",
    "DocumentFormat",
    "detect_format",
    "parse_csv",
    "parse_document",
    "parse_json",
    "parse_pdf",
    "parse_xml",
]

DocumentFormat = Literal["pdf", "csv", "xml", "json"]
_EXTENSIONS: dict[str, DocumentFormat] = {
    ".pdf": "pdf",
    ".csv": "csv",
    ".tsv": "csv",
    ".xml": "xml",
    ".json": "json",
}


class DocumentError(ValueError):
    """The document is not valid in its format, or is refused (an XML entity bomb)."""


def detect_format(data: bytes, name: str = "", content_type: str = "") -> DocumentFormat:
    """The format by content type, then file extension, then the first bytes."""
    formats: tuple[DocumentFormat, ...] = ("pdf", "csv", "xml", "json")
    for found in formats:
        if found in content_type:
            return found
    for extension, found in _EXTENSIONS.items():
        if name.lower().endswith(extension):
            return found
    head = data.lstrip()[:5]
    if head.startswith(b"%PDF"):
        return "pdf"
    if head.startswith(b"<"):
        return "xml"
    if head[:1] in (b"{", b"["):
        return "json"
    return "csv"


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def parse_pdf(data: bytes) -> dict[str, Any]:
    """`{format, pages, page_count}` with the extracted text of each page."""
    from pypdf import PdfReader  # imported on first use: it slows every executor's start
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise DocumentError("the PDF is encrypted")
        pages = [page.extract_text() or "" for page in reader.pages]
    except PdfReadError as exc:
        raise DocumentError(f"not a readable PDF: {exc}") from exc
    return {"format": "pdf", "pages": pages, "page_count": len(pages)}


def parse_csv(
    data: bytes,
    delimiter: str | None = None,
    has_header: bool | None = None,
    max_rows: int = 100_000,
) -> dict[str, Any]:
    """`{format, delimiter, header, rows, row_count, truncated}`.

    The delimiter and whether the first row is a header are detected unless given; with a
    header, rows are objects keyed by it, otherwise lists.
    """
    text = _text(data)
    sample = text[: 64 * 1024]
    sniffer = csv.Sniffer()
    if delimiter is None:
        try:
            delimiter = sniffer.sniff(sample, delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = ","
    if has_header is None:
        try:
            has_header = sniffer.has_header(sample)
        except csv.Error:
            has_header = False
    records = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = next(records, None) if has_header else None
    rows: list[Any] = []
    truncated = False
    for record in records:
        if len(rows) >= max_rows:
            truncated = True
            break
        rows.append(dict(zip(header, record, strict=False)) if header else record)
    return {
        "format": "csv",
        "delimiter": delimiter,
        "header": header,
        "rows": rows,
        "row_count": len(rows),
        "truncated": truncated,
    }


def _element(node: Element) -> dict[str, Any]:
    text = (node.text or "").strip()
    return {
        "tag": node.tag,
        "attributes": dict(node.attrib),
        "text": text or None,
        "children": [_element(child) for child in node],
    }


def parse_xml(data: bytes) -> dict[str, Any]:
    """`{format, root}`, each element as `{tag, attributes, text, children}`.

    Entity declarations, external entities and DTD tricks are refused, so entity
    expansion bombs and external entity reads fail cleanly.
    """
    try:
        root = parse_xml_safely(data, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise DocumentError(f"refused unsafe XML: {exc}") from exc
    except ParseError as exc:
        raise DocumentError(f"not well-formed XML: {exc}") from exc
    return {"format": "xml", "root": _element(root)}


def parse_json(data: bytes) -> dict[str, Any]:
    """`{format, data}`."""
    try:
        return {"format": "json", "data": json.loads(_text(data))}
    except ValueError as exc:
        raise DocumentError(f"not valid JSON: {exc}") from exc


def parse_document(
    data: bytes,
    document_format: DocumentFormat,
    delimiter: str | None = None,
    has_header: bool | None = None,
    max_rows: int = 100_000,
) -> dict[str, Any]:
    """Parse `data` as `document_format`."""
    if document_format == "pdf":
        return parse_pdf(data)
    if document_format == "csv":
        return parse_csv(data, delimiter, has_header, max_rows)
    if document_format == "xml":
        return parse_xml(data)
    return parse_json(data)
