"""Traces: one per execution, from the gateway's start request through the log, the
scheduler's decisions and the executors' node attempts to the calls they make.

The W3C trace context (`traceparent`) travels in NATS message headers
(`Header.TRACEPARENT`) and is stored in `execution.started` (its `traceparent` field), so
after any restart the scheduler and the executors continue the execution's trace from its
log.

Spans are recorded and exported over OTLP/HTTP only when the standard `OTEL_*`
environment asks for it (`OTEL_EXPORTER_OTLP_ENDPOINT` or
`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`; `OTEL_SDK_DISABLED=true` or
`OTEL_TRACES_EXPORTER=none` switch it off). Otherwise the OpenTelemetry SDK is not even
imported: the hot path carries the execution's `traceparent` header and nothing more, and
log lines still name the execution's `trace_id`.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import secrets
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Span

__all__ = [
    "configure_tracing",
    "current_traceparent",
    "enabled",
    "incoming_traceparent",
    "mark_failed",
    "new_traceparent",
    "shutdown_tracing",
    "span",
    "span_traceparent",
    "trace_id_of",
    "use_tracer_provider",
]

_provider: TracerProvider | None = None
_owned = False
"""Whether `_provider` was made here (and so is shut down here)."""
_tracers: dict[str, Any] = {}
"""One tracer per service, made once per provider."""

_incoming: contextvars.ContextVar[Callable[[], str | None] | None] = contextvars.ContextVar(
    "fm_traceparent", default=None
)
"""Where the work in progress got its `traceparent` (an HTTP request's header, a command's
header), read only when asked: what `current_traceparent` falls back to."""

_HEX = frozenset("0123456789abcdef")


def _wanted(env: Mapping[str, str]) -> bool:
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    if env.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "none":
        return False
    return bool(
        env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def configure_tracing(service: str, env: Mapping[str, str] | None = None) -> bool:
    """Export this process's spans over OTLP/HTTP when the `OTEL_*` environment names an
    endpoint (service name: `OTEL_SERVICE_NAME`, else `flowmaestro-<service>`); True when
    tracing is on. Every other `OTEL_*` setting (headers, sampler, batch sizes, resource
    attributes) is read by the OpenTelemetry SDK itself."""
    global _provider, _owned
    env = os.environ if env is None else env
    if _provider is not None or not _wanted(env):
        return _provider is not None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    name = env.get("OTEL_SERVICE_NAME") or f"flowmaestro-{service}"
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    _provider, _owned = provider, True
    _tracers.clear()
    return True


def use_tracer_provider(provider: TracerProvider | None) -> None:
    """Record spans with `provider` (tests: one with an in-memory exporter); None: off."""
    global _provider, _owned
    _provider, _owned = provider, False
    _tracers.clear()


def shutdown_tracing() -> None:
    """Export what is buffered and stop (at the end of a service's process)."""
    global _provider, _owned
    if _provider is not None and _owned:  # a provider given by a test stays theirs
        provider, _provider, _owned = _provider, None, False
        _tracers.clear()
        provider.shutdown()


def enabled() -> bool:
    """Whether spans are recorded in this process."""
    return _provider is not None


def new_traceparent() -> str:
    """A new trace's context (sampled), for an execution started without one."""
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


def trace_id_of(traceparent: str | None) -> str | None:
    """The trace id of a well-formed `traceparent`, else None."""
    if (
        traceparent is None
        or len(traceparent) < 55
        or traceparent[2] != "-"
        or traceparent[35] != "-"
        or not _HEX.issuperset(traceparent[3:35])
    ):
        return None
    trace_id = traceparent[3:35]
    return None if trace_id == "0" * 32 else trace_id


class incoming_traceparent:  # a class, not a generator: cheaper on the hot path
    """Inside the block, `current_traceparent` falls back to `source()`: the context the
    work arrived with (read lazily, so a hot path that never asks never parses it)."""

    __slots__ = ("_source", "_token")

    def __init__(self, source: Callable[[], str | None]) -> None:
        self._source = source
        self._token: contextvars.Token[Callable[[], str | None] | None] | None = None

    def __enter__(self) -> None:
        self._token = _incoming.set(self._source)

    def __exit__(self, *_exc: object) -> None:
        if self._token is not None:
            _incoming.reset(self._token)


def _format(span: Span) -> str | None:
    context = span.get_span_context()
    if not context.is_valid:
        return None
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"


def current_traceparent() -> str | None:
    """The context a message sent now should carry: the current span's, or (spans off)
    the caller's `traceparent`."""
    if _provider is not None:
        from opentelemetry import trace

        current = _format(trace.get_current_span())
        if current is not None:
            return current
    source = _incoming.get()
    if source is None:
        return None
    value = source()
    return value if trace_id_of(value) else None


@contextlib.contextmanager
def span(
    service: str,
    name: str,
    parent: str | None = None,
    kind: str = "internal",
    attributes: Mapping[str, Any] | None = None,
) -> Iterator[Span | None]:
    """A span of `service` named `name`, child of `parent` (a `traceparent`; None: the
    current span), current inside the block; yields None when tracing is off. `kind`:
    internal, server, client, producer or consumer. An exception marks it failed."""
    if _provider is None:
        yield None
        return
    from opentelemetry import trace

    tracer = _tracers.get(service)
    if tracer is None:
        tracer = _tracers[service] = _provider.get_tracer(f"flowmaestro.{service}")
    with tracer.start_as_current_span(
        name,
        context=_context_of(parent) if parent is not None else None,
        kind=getattr(trace.SpanKind, kind.upper()),
        attributes={k: v for k, v in (attributes or {}).items() if v is not None},
    ) as current:
        yield current


def _context_of(traceparent: str) -> Any:
    """The OpenTelemetry context whose parent is `traceparent` (W3C version 00); an empty
    one when it is malformed (the span then starts a trace of its own)."""
    from opentelemetry import context, trace

    trace_id = trace_id_of(traceparent)
    span_id = traceparent[36:52] if trace_id is not None else ""
    if (
        trace_id is None
        or len(traceparent) < 55
        or not _HEX.issuperset(span_id + traceparent[53:55])
    ):
        return context.Context()
    parent = trace.SpanContext(
        int(trace_id, 16),
        int(span_id, 16),
        is_remote=True,
        trace_flags=trace.TraceFlags(int(traceparent[53:55], 16)),
    )
    if not parent.is_valid:
        return context.Context()
    return trace.set_span_in_context(trace.NonRecordingSpan(parent), context.Context())


def span_traceparent(current: Span | None, fallback: str | None) -> str | None:
    """The `traceparent` naming `current` (a span from `span`), else `fallback`."""
    if current is None:
        return fallback
    return _format(current) or fallback


def mark_failed(current: Span | None, message: str) -> None:
    """Set `current`'s status to error with `message` (a node attempt that failed)."""
    if current is None:
        return
    from opentelemetry.trace import Status, StatusCode

    current.set_status(Status(StatusCode.ERROR, message))
