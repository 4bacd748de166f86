"""A fake Notion API (create a page, query a database) over real HTTP."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.http import FakeHttpServer, Request, Response

__all__ = ["FakeNotion"]

_QUERY = re.compile(r"^/v1/databases/([^/]+)/query$")


def _error(status: int, code: str, message: str) -> Response:
    return Response(status, {"object": "error", "status": status, "code": code, "message": message})


@dataclass
class FakeNotion:
    """Databases and their pages, guarded by one integration token."""

    token: str = "secret_test"
    databases: set[str] = field(default_factory=lambda: {"db1"})
    pages: list[dict[str, Any]] = field(default_factory=list)

    def server(self) -> FakeHttpServer:
        """The HTTP server; the integration's `base_url` is its url plus `/v1`."""
        return FakeHttpServer(self.handle)

    def handle(self, request: Request) -> Response:
        """Answer one API call."""
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return _error(401, "unauthorized", "API token is invalid.")
        if not request.headers.get("notion-version"):
            return _error(400, "missing_version", "Notion-Version header failed validation.")
        if request.method == "POST" and request.path == "/v1/pages":
            return self._create(request.json())
        match = _QUERY.match(request.path)
        if request.method == "POST" and match:
            return self._query(match.group(1), request.json())
        return _error(400, "invalid_request_url", "Invalid request URL.")

    def _create(self, body: dict[str, Any]) -> Response:
        parent = body.get("parent") or {}
        database = parent.get("database_id")
        if database is not None and database not in self.databases:
            return _error(404, "object_not_found", f"Could not find database {database}.")
        page = {
            "object": "page",
            "id": str(uuid.uuid4()),
            "parent": {"type": "database_id", **parent} if database else parent,
            "properties": body.get("properties", {}),
        }
        self.pages.append(page)
        return Response(200, page)

    def _query(self, database: str, body: dict[str, Any]) -> Response:
        if database not in self.databases:
            return _error(404, "object_not_found", f"Could not find database {database}.")
        found = [p for p in self.pages if p["parent"].get("database_id") == database]
        size = int(body.get("page_size", 100))
        return Response(
            200,
            {
                "object": "list",
                "results": found[:size],
                "has_more": len(found) > size,
                "next_cursor": found[size]["id"] if len(found) > size else None,
            },
        )
