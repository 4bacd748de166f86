"""Tracing is configured from the standard OTEL_* variables: off (and the SDK not even
imported) without an endpoint; with one, spans reach an OTLP/HTTP collector."""

from __future__ import annotations

import http.server
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from flowmaestro.runtime import tracing

pytestmark = pytest.mark.integration


@pytest.fixture
def collector() -> Iterator[tuple[str, list[bytes]]]:
    """An OTLP/HTTP endpoint on 127.0.0.1 recording what is posted to /v1/traces."""
    received: list[bytes] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if self.path == "/v1/traces":
                received.append(body)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", received
    finally:
        server.shutdown()
        server.server_close()


def test_no_endpoint_no_tracing() -> None:
    for env in ({}, {"OTEL_SERVICE_NAME": "x"}):
        assert tracing.configure_tracing("scheduler", env) is False
    endpoint = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"}
    assert (
        tracing.configure_tracing("scheduler", {**endpoint, "OTEL_SDK_DISABLED": "true"}) is False
    )
    assert (
        tracing.configure_tracing("scheduler", {**endpoint, "OTEL_TRACES_EXPORTER": "none"})
        is False
    )
    assert not tracing.enabled()
    with tracing.span("scheduler", "nothing") as span:
        assert span is None
    # a service that traces nothing does not load the SDK
    program = textwrap.dedent(
        """
        import sys
        from flowmaestro.runtime import tracing
        from flowmaestro.runtime.service import observed
        from flowmaestro.runtime.metrics import SchedulerMetrics
        with observed(SchedulerMetrics()):
            with tracing.span("scheduler", "x"):
                pass
        print(any(name.startswith("opentelemetry.sdk") for name in sys.modules))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True, env={}
    )
    assert done.stdout.strip() == "False"


def test_an_endpoint_exports_spans_over_otlp_http(collector: tuple[str, list[bytes]]) -> None:
    url, received = collector
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": url}
    program = textwrap.dedent(
        """
        from flowmaestro.runtime import tracing
        assert tracing.configure_tracing("executors")
        parent = tracing.new_traceparent()
        with tracing.span("executors", "node.attempt echo", parent, kind="consumer"):
            print(tracing.current_traceparent())
        tracing.shutdown_tracing()
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        timeout=60,
    )
    traceparent = done.stdout.strip()
    assert received, done.stderr
    request = ExportTraceServiceRequest.FromString(received[0])
    (resource_spans,) = request.resource_spans
    attributes = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
    assert attributes["service.name"] == "flowmaestro-executors"
    (span,) = resource_spans.scope_spans[0].spans
    assert span.name == "node.attempt echo"
    assert span.trace_id.hex() == tracing.trace_id_of(traceparent)
