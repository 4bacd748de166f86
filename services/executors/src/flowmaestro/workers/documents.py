"""Parsing documents into JSON: PDF (text per page), CSV, XML (entity-safe) and JSON.

Pure functions over bytes, run inside a document worker process (`handle`); a document
that cannot be parsed, or is over a limit (PDF pages and objects, XML elements and
depth), raises `DocumentError`.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any, Literal

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError
from defusedxml.ElementTree import iterparse as iterparse_safely

from flowmaestro.workers import TaskFailed

__all__ = [
    "DocumentError",
    "DocumentFormat",
    "detect_format",
    "handle",
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


# Defaults of the limits; the executor sends the operator's values with each task.
MAX_PDF_PAGES = 2000
MAX_PDF_OBJECTS = 200_000
MAX_XML_ELEMENTS = 200_000
MAX_XML_DEPTH = 100


class DocumentError(ValueError):
    """The document is not valid in its format, or is refused (a bomb, or over a limit)."""


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


def parse_pdf(
    data: bytes, max_pages: int = MAX_PDF_PAGES, max_objects: int = MAX_PDF_OBJECTS
) -> dict[str, Any]:
    """`{format, pages, page_count}` with the extracted text of each page.

    Refused: more than `max_pages` pages or `max_objects` objects, and a page listed more
    than once (a small file that makes text extraction run for minutes).
    """
    from pypdf import PdfReader  # imported on first use: it slows every worker's start
    from pypdf.errors import PdfReadError, PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise DocumentError("the PDF is encrypted")
        objects = sum(len(numbers) for numbers in reader.xref.values()) + len(reader.xref_objStm)
        if objects > max_objects:
            raise DocumentError(f"the PDF has {objects} objects; at most {max_objects} are read")
        count = len(reader.pages)
        if count > max_pages:
            raise DocumentError(f"the PDF has {count} pages; at most {max_pages} are read")
        seen: set[int] = set()
        for page in reader.pages:
            reference = page.indirect_reference
            if reference is not None and reference.idnum in seen:
                raise DocumentError(f"the PDF lists page object {reference.idnum} more than once")
            if reference is not None:
                seen.add(reference.idnum)
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, PyPdfError) as exc:
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


def parse_xml(
    data: bytes, max_elements: int = MAX_XML_ELEMENTS, max_depth: int = MAX_XML_DEPTH
) -> dict[str, Any]:
    """`{format, root}`, each element as `{tag, attributes, text, children}`.

    Entity declarations, external entities and DTD tricks are refused, so entity
    expansion bombs and external entity reads fail cleanly; so is a document with more
    than `max_elements` elements or nested deeper than `max_depth`, while it is read.
    """
    stack: list[dict[str, Any]] = []
    root: dict[str, Any] | None = None
    count = 0
    try:
        events = iterparse_safely(io.BytesIO(data), events=("start", "end"), forbid_dtd=True)
        for event, element in events:
            if event == "end":
                text = (element.text or "").strip()
                stack.pop()["text"] = text or None
                element.clear()  # keep only our own, smaller copy
                continue
            count += 1
            if count > max_elements:
                raise DocumentError(f"the XML has more than {max_elements} elements")
            if len(stack) >= max_depth:
                raise DocumentError(f"the XML is nested deeper than {max_depth} elements")
            node = {"tag": element.tag, "attributes": dict(element.attrib), "children": []}
            node["text"] = None
            if stack:
                stack[-1]["children"].append(node)
            else:
                root = node
            stack.append(node)
    except DefusedXmlException as exc:
        raise DocumentError(f"refused unsafe XML: {exc}") from exc
    except ParseError as exc:
        raise DocumentError(f"not well-formed XML: {exc}") from exc
    if root is None:
        raise DocumentError("not well-formed XML: no element found")
    return {"format": "xml", "root": root}


def parse_json(data: bytes) -> dict[str, Any]:
    """`{format, data}`."""
    try:
        return {"format": "json", "data": json.loads(_text(data))}
    except ValueError as exc:
        raise DocumentError(f"not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise DocumentError("the JSON is nested too deeply") from exc


def parse_document(
    data: bytes,
    document_format: DocumentFormat,
    delimiter: str | None = None,
    has_header: bool | None = None,
    max_rows: int = 100_000,
    limits: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Parse `data` as `document_format` within `limits` (the `MAX_*` defaults)."""
    limits = limits or {}
    if document_format == "pdf":
        return parse_pdf(
            data,
            limits.get("pdf_max_pages", MAX_PDF_PAGES),
            limits.get("pdf_max_objects", MAX_PDF_OBJECTS),
        )
    if document_format == "csv":
        return parse_csv(data, delimiter, has_header, max_rows)
    if document_format == "xml":
        return parse_xml(
            data,
            limits.get("xml_max_elements", MAX_XML_ELEMENTS),
            limits.get("xml_max_depth", MAX_XML_DEPTH),
        )
    return parse_json(data)


def handle(payload: dict[str, Any]) -> Any:
    """Parse one document request; a refusal is a `parse` failure."""
    try:
        return parse_document(
            payload["data"],
            payload["format"],
            payload.get("delimiter"),
            payload.get("has_header"),
            int(payload.get("max_rows", 100_000)),
            payload.get("limits") or {},
        )
    except DocumentError as exc:
        raise TaskFailed("parse", str(exc)) from exc
