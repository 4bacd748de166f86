"""`file` parses an uploaded PDF, a CSV from a URL, and XML passed from upstream."""

from __future__ import annotations

import pytest
from nats.aio.client import Client

from flowmaestro.events import ExecutionStatus
from flowmaestro.runtime.files import FileStore
from tests.fakes.http import FakeHttpServer, Request, Response
from tests.support.engine import run
from tests.support.pdf import make_pdf
from tests.support.workflows import one_node

pytestmark = pytest.mark.integration


async def test_uploaded_pdf_by_file_id(engine: Client) -> None:
    stored = await FileStore(engine.jetstream()).upload(
        make_pdf(["Quarterly report", "Revenue up"]), "report.pdf", "application/pdf"
    )
    state, _ = await run(engine, one_node("file", {"file_id": stored.id}))
    assert state.status is ExecutionStatus.COMPLETED, state.error
    assert state.outputs["result"]["pages"] == ["Quarterly report", "Revenue up"]


async def test_file_id_from_upstream_and_missing_files(engine: Client) -> None:
    stored = await FileStore(engine.jetstream()).upload(b'{"ok": true}', "data.json")
    state, _ = await run(engine, one_node("file", {}, upstream={"file_id": stored.id}))
    assert state.outputs["result"] == {"format": "json", "data": {"ok": True}}
    missing, _ = await run(engine, one_node("file", {"file_id": "nope"}))
    assert missing.error is not None and missing.error.kind == "file"


async def test_csv_from_a_url(engine: Client, allow_loopback: None) -> None:
    def serve(_request: Request) -> Response:
        return Response(200, b"sku\tqty\nA1\t3\nB2\t5\n", {"Content-Type": "text/csv"})

    async with FakeHttpServer(serve) as server:
        state, _ = await run(engine, one_node("file", {"url": f"{server.url}/stock.csv"}))
    assert state.status is ExecutionStatus.COMPLETED, state.error
    assert state.outputs["result"]["rows"] == [{"sku": "A1", "qty": "3"}, {"sku": "B2", "qty": "5"}]


async def test_xml_from_upstream_and_an_entity_bomb(engine: Client) -> None:
    state, _ = await run(engine, one_node("file", {"format": "xml"}, upstream="<a><b>hi</b></a>"))
    assert state.outputs["result"]["root"]["children"][0]["text"] == "hi"
    bomb = '<!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><x>&b;</x>'
    failed, _ = await run(engine, one_node("file", {"format": "xml", "content": bomb}))
    assert failed.status is ExecutionStatus.FAILED
    assert failed.error is not None and failed.error.kind == "parse"
