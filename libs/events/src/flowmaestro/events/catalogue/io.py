"""Input/output node types: `http`, `database` and `file`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

import msgspec

from flowmaestro.events.catalogue.base import NodeConfig, NodeSpec, always_effects

__all__ = ["SPECS", "DatabaseConfig", "FileConfig", "HttpConfig"]

_METHOD = re.compile(r"^[A-Z]{1,16}$")
_MAX_ROWS = 100_000


class HttpConfig(NodeConfig, frozen=True, kw_only=True):
    """`http`: one HTTP request; 429 and 5xx answers are retried with the node's policy.

    `body` is sent as `body_type` (`json`, `form`, or `raw` text). With `integration_id`,
    the integration's credentials authenticate the request (`token` as a bearer token,
    `username`/`password` as basic auth, `headers` added as they are). Private, loopback
    and link-local targets are refused unless allowed by the operator.
    """

    method: str = "GET"
    url: str
    headers: dict[str, str] = {}
    query: dict[str, Any] = {}
    body: Any = msgspec.UNSET
    body_type: Literal["json", "form", "raw"] = "json"
    integration_id: str | None = None
    request_timeout_seconds: float = 30.0
    max_response_bytes: int = 10 * 1024 * 1024
    follow_redirects: bool = True
    fail_on_status: bool = True


class DatabaseConfig(NodeConfig, frozen=True, kw_only=True):
    """`database`: SQL against the PostgreSQL named by `integration_id`.

    Values go in `params` (`%s` placeholders with a list, `%(name)s` with an object) and
    are always bound by the server, never formatted into the SQL text. `read_only` runs
    the statement in a read-only transaction; at most `max_rows` rows are returned.
    """

    integration_id: str
    query: str
    params: list[Any] | dict[str, Any] = []
    read_only: bool = True
    max_rows: int = 1000
    statement_timeout_ms: int = 30_000


class FileConfig(NodeConfig, frozen=True, kw_only=True):
    """`file`: parses a PDF (text per page), CSV, XML (entity-safe) or JSON document.

    The document is an uploaded file (`file_id`), a `url`, literal `content`, or else the
    upstream output (text, or an object with a `file_id`).
    """

    format: Literal["auto", "pdf", "csv", "xml", "json"] = "auto"
    file_id: str | None = None
    url: str | None = None
    content: str | None = None
    delimiter: str | None = None
    has_header: bool | None = None
    max_bytes: int = 20 * 1024 * 1024
    max_rows: int = _MAX_ROWS


def _http_problems(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    method = data.get("method", "GET")
    if isinstance(method, str) and not _METHOD.match(method):
        return [("method", "must be an upper-case HTTP method such as GET or POST")]
    return []


def _database_problems(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    rows = data.get("max_rows")
    if isinstance(rows, int) and not 1 <= rows <= _MAX_ROWS:
        return [("max_rows", f"must be in [1, {_MAX_ROWS}]")]
    return []


def _file_problems(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    given = [k for k in ("file_id", "url", "content") if data.get(k) is not None]
    if len(given) > 1:
        return [(given[1], "set at most one of 'file_id', 'url' and 'content'")]
    delimiter = data.get("delimiter")
    if isinstance(delimiter, str) and len(delimiter) != 1:
        return [("delimiter", "must be one character")]
    return []


SPECS: tuple[NodeSpec, ...] = (
    NodeSpec(
        "http",
        "HTTP request",
        "io",
        "Calls an HTTP API: any method, headers, query, JSON/form/raw body, integration "
        "auth; retries 429 and 5xx honouring Retry-After; refuses private targets.",
        HttpConfig,
        "{status, headers, body, url}",
        checks=_http_problems,
        effects=always_effects,  # a GET may have effects too: the far side decides
    ),
    NodeSpec(
        "database",
        "Database query",
        "io",
        "Runs parameterised SQL against a PostgreSQL integration, read-only by default.",
        DatabaseConfig,
        "{rows, columns, row_count, truncated}",
        code_fields={"query": "params"},
        effects=lambda data: data.get("read_only", True) is False,
        checks=_database_problems,
    ),
    NodeSpec(
        "file",
        "Parse file",
        "io",
        "Parses an uploaded file, a URL or upstream text as PDF, CSV, XML or JSON.",
        FileConfig,
        "{format, ...}: pdf {pages, page_count}; csv {header, rows}; xml {root}; json {data}",
        checks=_file_problems,
    ),
)
