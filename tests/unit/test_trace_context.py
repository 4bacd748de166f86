"""W3C trace context helpers: ids read from `traceparent`, new contexts, and spans that
continue a context (or start their own trace when it is malformed)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from flowmaestro.runtime import tracing

VALID = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use_tracer_provider(provider)
    try:
        yield exporter
    finally:
        tracing.use_tracer_provider(None)


def test_trace_ids_are_read_only_from_well_formed_contexts() -> None:
    assert tracing.trace_id_of(VALID) == "0af7651916cd43dd8448eb211c80319c"
    for bad in (None, "", "00-xyz", VALID.upper(), "00-" + "0" * 32 + "-b7ad6b7169203331-01"):
        assert tracing.trace_id_of(bad) is None, bad
    made = tracing.new_traceparent()
    assert re.fullmatch(r"00-[0-9a-f]{32}-[0-9a-f]{16}-01", made)
    assert made != tracing.new_traceparent()


def test_a_span_continues_its_parent_context(exporter: InMemorySpanExporter) -> None:
    with tracing.span("scheduler", "scheduler.decide", VALID) as span:
        child = tracing.span_traceparent(span, None)
        assert tracing.current_traceparent() == child
    assert child is not None and tracing.trace_id_of(child) == tracing.trace_id_of(VALID)
    (recorded,) = exporter.get_finished_spans()
    assert recorded.parent is not None and recorded.parent.span_id == int(VALID[36:52], 16)


@pytest.mark.parametrize("parent", ["garbage", "00-0af7651916cd43dd8448eb211c80319c-zz-01"])
def test_a_malformed_parent_starts_a_trace_of_its_own(
    exporter: InMemorySpanExporter, parent: str
) -> None:
    with tracing.span("executors", "node.attempt echo", parent):
        pass
    (recorded,) = exporter.get_finished_spans()
    assert recorded.parent is None


def test_without_spans_the_incoming_context_is_the_current_one() -> None:
    assert tracing.current_traceparent() is None
    with tracing.incoming_traceparent(lambda: VALID):
        assert tracing.current_traceparent() == VALID
    with tracing.incoming_traceparent(lambda: "not a context"):
        assert tracing.current_traceparent() is None
