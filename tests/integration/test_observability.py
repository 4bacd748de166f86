"""One execution observed end to end: a start request to the gateway, a node that fails
once and is retried, and an `llm` node calling a fake OpenAI through the egress layer.

Its spans — recorded by the gateway, the scheduler and the executors, here in one process
with an in-memory exporter — form one connected trace; each service's `/metrics` endpoint,
scraped over HTTP afterwards, moved by exactly what the run did.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client.parser import text_string_to_metric_families

from flowmaestro.events import CATALOGUE, ExecutionStarted, ExecutionStatus, parse_definition
from flowmaestro.events.names import EXEC_STREAM, Header
from flowmaestro.executors.egress.policy import ALLOW_ENV
from flowmaestro.runtime import (
    EmbeddedNats,
    ExecutionLog,
    connect,
    free_port,
    new_execution_id,
    tracing,
)
from flowmaestro.runtime.connection import wire_of
from flowmaestro.runtime.metrics import ExecutorMetrics, SchedulerMetrics
from flowmaestro.runtime.topology import ensure_topology
from tests.fakes.openai_server import FakeOpenAI
from tests.support.engine import (
    EXAMPLES,
    WORKERS,
    running_engine,
    wait_for_end,
    wait_for_waiting,
)
from tests.support.gateway import data_of, register, running_gateway
from tests.support.postgres import fresh_database

pytestmark = pytest.mark.integration

WORKFLOW = {
    "nodes": {
        "start": {"id": "start", "type": "input", "data": {"schema": {}}},
        "flaky": {
            "id": "flaky",
            "type": "echo",
            "data": {
                "value": "Say hello",
                "fail_first_attempts": 1,
                "retry": {"max_attempts": 2, "initial_interval_seconds": 0.1, "jitter": 0},
            },
        },
        "ai": {
            "id": "ai",
            "type": "llm",
            "data": {"provider": "openai", "model": "gpt-4o-mini", "prompt": "${flaky.output}"},
        },
        "result": {"id": "result", "type": "output", "data": {"output": "${ai.output}"}},
    },
    "edges": [
        {"id": "e1", "source": "start", "target": "flaky"},
        {"id": "e2", "source": "flaky", "target": "ai"},
        {"id": "e3", "source": "ai", "target": "result"},
    ],
}


@dataclass
class Run:
    """What the observed run left behind."""

    workflow_id: str
    execution_id: str
    started: ExecutionStarted
    outputs: dict[str, Any]
    spans: list[ReadableSpan]
    scrapes: dict[str, dict[tuple[str, frozenset[tuple[str, str]]], float]]
    """Per service, each sample `(name, labels)` of its `/metrics`, read over HTTP."""
    logged: list[tuple[str, dict[str, str]]]
    """Each stored log message's event type and NATS headers."""


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


@pytest.fixture(scope="module")
def _fake_openai() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
async def run(
    tmp_path_factory: pytest.TempPathFactory, _fake_openai: FakeOpenAI
) -> AsyncIterator[Run]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    server = EmbeddedNats(Path(tmp_path_factory.mktemp("nats-observed"))).start()
    scheduler_metrics, executor_metrics = SchedulerMetrics(), ExecutorMetrics()
    ports = {"scheduler": free_port(), "executors": free_port(), "gateway": free_port()}
    scheduler_metrics.serve(ports["scheduler"])
    executor_metrics.serve(ports["executors"])
    tracing.use_tracer_provider(provider)
    nc = await connect(server.url, name="tests-observed")
    try:
        with pytest.MonkeyPatch.context() as env:
            env.setenv(ALLOW_ENV, "127.0.0.1")
            env.setenv("FLOWMAESTRO_OPENAI_BASE_URL", _fake_openai.base_url)
            await ensure_topology(nc.jetstream(), CATALOGUE)
            async with (
                fresh_database() as database_url,
                running_engine(server.url, metrics=(scheduler_metrics, executor_metrics)),
                running_gateway(server.url, database_url, metrics_port=ports["gateway"]) as url,
                httpx.AsyncClient(base_url=url, timeout=20) as client,
            ):
                user = await register(client)
                created = await client.post(
                    "/api/workflows",
                    json={"name": "observed", "description": "", "definition": WORKFLOW},
                    headers=user.headers,
                )
                workflow_id = data_of(created, 201)["id"]
                response = await client.post(
                    "/api/workflows/execute",
                    json={"workflow_id": workflow_id, "inputs": {}},
                    headers=user.headers,
                )
                execution_id = data_of(response, 202)["execution_id"]
                state, records = await wait_for_end(nc, execution_id, timeout=30)
                assert state.status is ExecutionStatus.COMPLETED, state.error
                logged = []
                for seq, event in records:
                    stored = await nc.jetstream().get_msg(EXEC_STREAM, seq)
                    logged.append((type(event).__name__, dict(stored.headers or {})))
                started = records[0][1]
                assert isinstance(started, ExecutionStarted)
                missing = await client.get("/api/executions/nonexistent", headers=user.headers)
                assert missing.status_code == 404
                await WORKERS[-1].poll_backlogs()  # what the endpoint's probe does
                scrapes = {}
                for service, port in ports.items():
                    scraped = await client.get(f"http://127.0.0.1:{port}/metrics")
                    assert scraped.status_code == 200
                    scrapes[service] = _samples(scraped.text)
        spans = list(exporter.get_finished_spans())
        yield Run(workflow_id, execution_id, started, state.outputs, spans, scrapes, logged)
    finally:
        tracing.use_tracer_provider(None)
        scheduler_metrics.close()
        executor_metrics.close()
        await nc.close()
        server.stop()


def _trace_id(span: ReadableSpan) -> str:
    assert span.context is not None
    return f"{span.context.trace_id:032x}"


def _execution_of(span: ReadableSpan) -> object:
    return (span.attributes or {}).get("flowmaestro.execution_id")


def _span_id(span: ReadableSpan) -> int:
    assert span.context is not None
    return span.context.span_id


async def test_one_connected_trace_spans_gateway_scheduler_executors_and_provider(run: Run) -> None:
    # the execution's log holds its trace, so a restarted scheduler continues it
    trace_id = run.started.traceparent and tracing.trace_id_of(run.started.traceparent)
    assert trace_id is not None
    spans = [s for s in run.spans if _trace_id(s) == trace_id]
    # every span naming the execution is in its trace (other tests' executions, when the
    # suite's engine runs beside this one, record theirs in traces of their own)
    scopes = {s.instrumentation_scope.name for s in spans if s.instrumentation_scope}
    assert scopes == {"flowmaestro.gateway", "flowmaestro.scheduler", "flowmaestro.executors"}
    for span in run.spans:
        if _execution_of(span) == run.execution_id:
            assert span in spans, span.name

    by_id = {_span_id(span): span for span in spans}
    roots = [span for span in spans if span.parent is None]
    assert [root.name for root in roots] == ["POST /api/workflows/execute"]
    for span in spans:  # connected: every other span's parent is a span of the trace
        assert span.parent is None or span.parent.span_id in by_id, span.name

    def ancestry(span: ReadableSpan) -> list[str]:
        names = []
        while span.parent is not None:
            span = by_id[span.parent.span_id]
            names.append(span.name)
        return names

    (start,) = [s for s in spans if s.name == "execution.start"]
    assert start.attributes and start.attributes["flowmaestro.execution_id"] == run.execution_id
    assert ancestry(start) == ["POST /api/workflows/execute"]

    attempts = [s for s in spans if s.name.startswith("node.attempt ")]
    assert sorted(s.name for s in attempts) == [
        "node.attempt echo",
        "node.attempt echo",
        "node.attempt input",
        "node.attempt llm",
        "node.attempt output",
    ]
    for attempt in attempts:  # executor ← scheduler's decision ← the start ← the request
        assert ancestry(attempt)[0] == "scheduler.decide"
        assert ancestry(attempt)[-2:] == ["execution.start", "POST /api/workflows/execute"]
    failed = [s for s in attempts if s.name == "node.attempt echo" and not s.status.is_ok]
    assert len(failed) == 1, "the first echo attempt failed and says so"

    (call,) = [s for s in spans if s.name == "HTTP POST"]
    assert ancestry(call)[0] == "node.attempt llm"
    assert call.attributes and call.attributes["http.response.status_code"] == 200
    assert call.attributes["server.address"] == "127.0.0.1"


def _value(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_each_service_endpoint_counts_what_the_run_did(run: Run) -> None:
    gateway, scheduler, executors = (run.scrapes[s] for s in ("gateway", "scheduler", "executors"))
    route = {"method": "POST", "route": "/api/workflows/execute"}
    assert _value(gateway, "flowmaestro_http_requests_total", **route, status="202") == 1
    assert _value(gateway, "flowmaestro_http_request_duration_seconds_count", **route) == 1
    # an error answer is counted under its route's template, not its path
    not_found = [
        dict(labels)
        for (name, labels), value in gateway.items()
        if name == "flowmaestro_http_requests_total" and ("status", "404") in labels
    ]
    assert len(not_found) == 1 and "nonexistent" not in not_found[0]["route"], not_found
    assert not_found[0]["route"].startswith("/api/executions/{")
    assert _value(gateway, "flowmaestro_dependency_up", service="gateway", dependency="nats") == 1
    assert (
        _value(gateway, "flowmaestro_dependency_up", service="gateway", dependency="postgres") == 1
    )

    workflow = {"workflow": run.workflow_id}
    assert _value(scheduler, "flowmaestro_executions_started_total", **workflow) == 1
    assert _value(scheduler, "flowmaestro_executions_completed_total", **workflow) == 1
    assert _value(scheduler, "flowmaestro_executions_failed_total", **workflow) == 0
    batches = _value(scheduler, "flowmaestro_scheduler_fold_seconds_count")
    assert batches >= 1
    assert _value(scheduler, "flowmaestro_scheduler_decide_seconds_count") == batches
    # every event it consumes: the log less its own dispatch records, which it never reads
    consumed = [kind for kind, _ in run.logged if kind != "NodeScheduled"]
    assert _value(scheduler, "flowmaestro_scheduler_events_total") == len(consumed)

    def attempts(node_type: str, outcome: str) -> float:
        return _value(
            executors,
            "flowmaestro_node_duration_seconds_count",
            node_type=node_type,
            outcome=outcome,
        )

    assert attempts("echo", "failed") == 1 and attempts("echo", "completed") == 1
    assert attempts("input", "completed") == 1 and attempts("output", "completed") == 1
    assert attempts("llm", "completed") == 1
    assert _value(executors, "flowmaestro_node_retries_total", node_type="echo") == 1
    assert _value(executors, "flowmaestro_node_retries_total", node_type="llm") == 0
    output = run.outputs["result"]
    model = output["model"]
    tokens = {"node_type": "llm", "model": model}
    assert (
        _value(executors, "flowmaestro_llm_tokens_total", **tokens, kind="input")
        == output["usage"]["input_tokens"]
        > 0
    )
    assert (
        _value(executors, "flowmaestro_llm_tokens_total", **tokens, kind="output")
        == output["usage"]["output_tokens"]
        > 0
    )
    assert _value(executors, "flowmaestro_llm_cost_usd_total", **tokens) == pytest.approx(
        output["cost_usd"]
    )
    assert ("flowmaestro_command_backlog", frozenset({("node_type", "llm")})) in executors
    assert _value(executors, "flowmaestro_command_backlog", node_type="llm") == 0
    for service, samples in run.scrapes.items():
        assert _value(samples, "flowmaestro_service_start_time_seconds", service=service) > 0


async def test_the_log_carries_the_trace_context_in_headers(run: Run) -> None:
    """The start and every node outcome are stored with a W3C `traceparent` header of the
    execution's trace (the scheduler's commands carry it to the executors)."""
    trace_id = tracing.trace_id_of(run.started.traceparent)
    assert trace_id is not None
    headers = {kind: h for kind, h in run.logged if kind == "ExecutionStarted"}
    assert headers["ExecutionStarted"][Header.TRACEPARENT] == run.started.traceparent
    outcomes = [h for kind, h in run.logged if kind in ("NodeCompleted", "NodeFailed")]
    assert len(outcomes) == 5
    for outcome in outcomes:
        assert tracing.trace_id_of(outcome[Header.TRACEPARENT]) == trace_id


async def test_a_restarted_scheduler_and_executors_continue_the_executions_trace(
    tmp_path: Path,
) -> None:
    """The trace lives in the log: an engine started after the first one stopped (a wait
    node parked meanwhile) records its decisions and attempts in the same trace, under
    the context `execution.started` holds."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    traceparent = tracing.new_traceparent()
    server = EmbeddedNats(tmp_path / "nats").start()
    tracing.use_tracer_provider(provider)
    nc = await connect(server.url, name="tests-restart")
    try:
        await ensure_topology(nc.jetstream(), CATALOGUE)
        definition = parse_definition((EXAMPLES / "wait.json").read_bytes())
        execution_id = new_execution_id()
        async with running_engine(server.url):
            await ExecutionLog(nc).start(
                ExecutionStarted(
                    execution_id=execution_id,
                    definition=definition,
                    inputs={"seconds": 1},
                    started_at=datetime.now(UTC),
                    traceparent=traceparent,
                )
            )
            await wait_for_waiting(nc, execution_id, "pause")
        before = len([s for s in exporter.get_finished_spans() if _execution_of(s) == execution_id])
        async with running_engine(server.url):  # a new scheduler and executors
            state, _ = await wait_for_end(nc, execution_id, timeout=20)
        assert state.status is ExecutionStatus.COMPLETED, state.error
    finally:
        tracing.use_tracer_provider(None)
        await nc.close()
        server.stop()
    spans = [s for s in exporter.get_finished_spans() if _execution_of(s) == execution_id]
    after = spans[before:]
    assert any(s.name == "node.attempt output" for s in after), [s.name for s in after]
    trace_id, span_id = traceparent[3:35], int(traceparent[36:52], 16)
    for span in spans:
        assert _trace_id(span) == trace_id, span.name
    decisions = [s for s in after if s.name == "scheduler.decide"]
    assert decisions and all(s.parent and s.parent.span_id == span_id for s in decisions)


async def test_nats_reachability_is_a_metric(tmp_path: Path) -> None:
    """`flowmaestro_dependency_up{dependency="nats"}` follows the connections: 1 while
    connected (the hot path's included), 0 once the server is gone."""
    server = EmbeddedNats(tmp_path / "nats").start()
    metrics = SchedulerMetrics()
    nc = await connect(server.url, name="tests-reach")
    try:
        await ensure_topology(nc.jetstream(), CATALOGUE)
        metrics.watch_nats(nc)
        await (await wire_of(nc)).flush()
        labels = {"service": "scheduler", "dependency": "nats"}
        assert metrics.registry.get_sample_value("flowmaestro_dependency_up", labels) == 1
        server.stop()
        for _ in range(200):
            if metrics.registry.get_sample_value("flowmaestro_dependency_up", labels) == 0:
                break
            await asyncio.sleep(0.02)
        assert metrics.registry.get_sample_value("flowmaestro_dependency_up", labels) == 0
    finally:
        await nc.close()
        server.stop()
