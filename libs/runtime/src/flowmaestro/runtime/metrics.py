"""Prometheus metrics, one registry per service, served on the service's own port.

Every metric name is spelled here, once: the services record through these objects, and
`deploy/grafana/` (the dashboard and the alert rules) is checked against the names the
registries export. A service serves `/metrics` on `FLOWMAESTRO_METRICS_PORT` (on
`FLOWMAESTRO_METRICS_HOST`); unset, it serves nothing and only counts.

What the hot path records per step (node durations, retries, the scheduler's fold and
decide time, events handled) goes into `FastHistogram` and `FastCounter`: a bisect and an
add in the event loop's thread, no lock, the exposition built only when scraped.
"""

from __future__ import annotations

import asyncio
import math
import os
import time
from bisect import bisect_left
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import prometheus_client
import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import start_http_server
from prometheus_client.metrics_core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

__all__ = [
    "METRICS_HOST_ENV",
    "METRICS_PORT_ENV",
    "ExecutorMetrics",
    "FastCounter",
    "FastHistogram",
    "GatewayMetrics",
    "SchedulerMetrics",
    "ServiceMetrics",
    "exported_names",
    "metrics_port",
]

METRICS_PORT_ENV = "FLOWMAESTRO_METRICS_PORT"
METRICS_HOST_ENV = "FLOWMAESTRO_METRICS_HOST"

# `<name>_created` series double every counter's output and no dashboard reads them.
prometheus_client.disable_created_metrics()

log = structlog.get_logger("flowmaestro.metrics")

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)
_LATENCY_BUCKETS += (5, 10, 30, 60, 300)
_BATCH_BUCKETS = (0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1)
_HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

NO_WORKFLOW = "none"
"""The `workflow` label of executions started from a definition, not a stored workflow."""


class FastHistogram(Collector):
    """A histogram for the hot path: `observe` bisects into a list of counts (no lock:
    the event loop's thread records, a scrape reads whole numbers between two steps)."""

    def __init__(
        self,
        name: str,
        documentation: str,
        buckets: Sequence[float],
        labelnames: Sequence[str] = (),
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.name = name
        self.documentation = documentation
        self.bounds = tuple(buckets)
        self.labelnames = tuple(labelnames)
        self._series: dict[tuple[str, ...], list[float]] = {}
        """Per label values: a count per bucket (the last is +Inf), then the sum."""
        if registry is not None:
            registry.register(self)

    def series(self, *labels: str) -> list[float]:
        """The counts of one label set (made on first use); keep it to skip the lookup."""
        found = self._series.get(labels)
        if found is None:
            found = self._series[labels] = [0.0] * (len(self.bounds) + 2)
        return found

    def observe(self, value: float, *labels: str) -> None:
        """Record one value."""
        series = self._series.get(labels) or self.series(*labels)
        series[bisect_left(self.bounds, value)] += 1
        series[-1] += value

    def collect(self) -> Iterator[Metric]:
        """The Prometheus family, cumulative buckets from the counts."""
        family = HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)
        for labels, series in list(self._series.items()):
            counts = list(series)
            buckets: list[tuple[str, float]] = []
            total = 0.0
            for bound, count in zip((*self.bounds, math.inf), counts[:-1], strict=True):
                total += count
                buckets.append((_le(bound), total))
            family.add_metric(list(labels), buckets, counts[-1])
        yield family

    def describe(self) -> Iterator[Metric]:
        """The family's name, for the registry's duplicate check."""
        yield HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)


class FastCounter(Collector):
    """A counter for the hot path: an add to a dictionary entry, no lock."""

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str] = (),
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.name = name
        self.documentation = documentation
        self.labelnames = tuple(labelnames)
        self._values: dict[tuple[str, ...], float] = {}
        if registry is not None:
            registry.register(self)

    def inc(self, amount: float = 1.0, *labels: str) -> None:
        """Add `amount` (at least 0)."""
        self._values[labels] = self._values.get(labels, 0.0) + amount

    def value(self, *labels: str) -> float:
        """The current count of one label set."""
        return self._values.get(labels, 0.0)

    def collect(self) -> Iterator[Metric]:
        """The Prometheus family (exposed as `<name>_total`)."""
        family = CounterMetricFamily(self.name, self.documentation, labels=self.labelnames)
        for labels, value in list(self._values.items()):
            family.add_metric(list(labels), value)
        yield family

    def describe(self) -> Iterator[Metric]:
        """The family's name, for the registry's duplicate check."""
        yield CounterMetricFamily(self.name, self.documentation, labels=self.labelnames)


def _le(bound: float) -> str:
    return "+Inf" if math.isinf(bound) else repr(float(bound))


def metrics_port(env: Mapping[str, str] | None = None) -> int | None:
    """The port `FLOWMAESTRO_METRICS_PORT` names, or None (no endpoint)."""
    raw = (os.environ if env is None else env).get(METRICS_PORT_ENV, "").strip()
    if not raw:
        return None
    port = int(raw)
    if not 0 <= port <= 65535:
        raise ValueError(f"{METRICS_PORT_ENV} must be a port number, not {raw!r}")
    return port


class ServiceMetrics:
    """What every service exports: when it started (a restart shows as a change), and
    whether its dependencies answer."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.registry = CollectorRegistry(auto_describe=True)
        started = Gauge(
            "flowmaestro_service_start_time_seconds",
            "When the service's process started (Unix time); a change is a restart.",
            ["service"],
            registry=self.registry,
        )
        started.labels(service).set(time.time())
        self.dependency_up = Gauge(
            "flowmaestro_dependency_up",
            "1 while the service reaches the dependency (nats, postgres), else 0.",
            ["service", "dependency"],
            registry=self.registry,
        )
        self._server: Any = None
        self._tasks: set[asyncio.Task[None]] = set()

    def watch_nats(self, nc: Any) -> None:
        """Report NATS as reachable while `nc` (from `connect`) and its hot-path
        connection are both connected."""

        def up() -> float:
            return 1.0 if nc.is_connected and getattr(nc, "hot_path_connected", True) else 0.0

        self.dependency_up.labels(self.service, "nats").set_function(up)

    def set_up(self, dependency: str, up: bool) -> None:
        """Record whether `dependency` answered the last check."""
        self.dependency_up.labels(self.service, dependency).set(1.0 if up else 0.0)

    def serve(self, port: int, host: str | None = None) -> int:
        """Serve `/metrics` on `port` (0: any free port) in a thread; returns the port."""
        host = host or os.environ.get(METRICS_HOST_ENV) or "127.0.0.1"
        server, _thread = start_http_server(port, addr=host, registry=self.registry)
        self._server = server
        bound = int(server.server_port)
        log.info("metrics.serving", service=self.service, host=host, port=bound)
        return bound

    def serve_from_env(self) -> int | None:
        """`serve` on `FLOWMAESTRO_METRICS_PORT` when it is set."""
        port = metrics_port()
        return None if port is None else self.serve(port)

    def every(self, seconds: float, probe: Callable[[], Any]) -> None:
        """Run the coroutine function `probe` every `seconds` in the background (polls of
        backlogs and dependencies), until `close`. Its errors are logged, not raised."""

        async def loop() -> None:
            while True:
                try:
                    await probe()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.debug("metrics.probe_failed", service=self.service, error=repr(exc))
                await asyncio.sleep(seconds)

        task = asyncio.ensure_future(loop())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def close(self) -> None:
        """Stop the probes and the endpoint."""
        for task in list(self._tasks):
            task.cancel()
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()


class GatewayMetrics(ServiceMetrics):
    """The gateway's HTTP API."""

    def __init__(self) -> None:
        super().__init__("gateway")
        self.requests = Counter(
            "flowmaestro_http_requests",
            "HTTP requests answered, by method, route template and status code.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "flowmaestro_http_request_duration_seconds",
            "Time to answer an HTTP request (streams excluded), by method and route.",
            ["method", "route"],
            buckets=_HTTP_BUCKETS,
            registry=self.registry,
        )

    def request(self, method: str, route: str, status: int, seconds: float | None) -> None:
        """Count one answered request; `seconds` None for a stream (SSE)."""
        self.requests.labels(method, route, str(status)).inc()
        if seconds is not None:
            self.latency.labels(method, route).observe(seconds)


class SchedulerMetrics(ServiceMetrics):
    """Executions as the scheduler sees them, and the cost of its fold and decide."""

    def __init__(self) -> None:
        super().__init__("scheduler")
        labels = ["workflow"]
        self.started = Counter(
            "flowmaestro_executions_started",
            "Executions started, by workflow.",
            labels,
            registry=self.registry,
        )
        self.ended = {
            status: Counter(
                f"flowmaestro_executions_{status}",
                f"Executions {status}, by workflow.",
                labels,
                registry=self.registry,
            )
            for status in ("completed", "failed", "cancelled")
        }
        self.fold_seconds = FastHistogram(
            "flowmaestro_scheduler_fold_seconds",
            "Time to fold one batch of log events into execution states.",
            _BATCH_BUCKETS,
            registry=self.registry,
        )
        self.decide_seconds = FastHistogram(
            "flowmaestro_scheduler_decide_seconds",
            "Time to decide and start the effects of one batch.",
            _BATCH_BUCKETS,
            registry=self.registry,
        )
        self.batch_events = FastCounter(
            "flowmaestro_scheduler_events",
            "Log events the scheduler handled.",
            registry=self.registry,
        )
        self.backlog = Gauge(
            "flowmaestro_event_backlog",
            "Log events waiting for the scheduler (its consumer's pending count).",
            registry=self.registry,
        )

    def execution_started(self, workflow_id: str | None) -> None:
        """Count an execution the scheduler saw start."""
        self.started.labels(workflow_id or NO_WORKFLOW).inc()

    def execution_ended(self, workflow_id: str | None, status: str) -> None:
        """Count an execution that reached `status` (completed, failed, cancelled)."""
        counter = self.ended.get(status)
        if counter is not None:
            counter.labels(workflow_id or NO_WORKFLOW).inc()


class ExecutorMetrics(ServiceMetrics):
    """Node attempts, retries, command backlogs and the language models' usage."""

    def __init__(self) -> None:
        super().__init__("executors")
        self.duration = FastHistogram(
            "flowmaestro_node_duration_seconds",
            "Time from a command's arrival to its result, by node type and outcome "
            "(completed, failed, waiting).",
            _LATENCY_BUCKETS,
            ["node_type", "outcome"],
            registry=self.registry,
        )
        self.retries = FastCounter(
            "flowmaestro_node_retries",
            "Node attempts run after a first one (retries), by node type.",
            ["node_type"],
            registry=self.registry,
        )
        self.backlog = Gauge(
            "flowmaestro_command_backlog",
            "Commands waiting in a node type's consumer (pending, not yet delivered).",
            ["node_type"],
            registry=self.registry,
        )
        self.tokens = Counter(
            "flowmaestro_llm_tokens",
            "Language-model tokens, by node type, model and kind (input, output).",
            ["node_type", "model", "kind"],
            registry=self.registry,
        )
        self.cost = Counter(
            "flowmaestro_llm_cost_usd",
            "Estimated language-model cost in US dollars, by node type and model.",
            ["node_type", "model"],
            registry=self.registry,
        )

    def attempt(self, node_type: str, outcome: str, seconds: float) -> None:
        """Record one finished attempt."""
        self.duration.observe(seconds, node_type, outcome)

    def retry(self, node_type: str) -> None:
        """Count an attempt after the first."""
        self.retries.inc(1.0, node_type)

    def usage(self, node_type: str, output: Any) -> None:
        """Count tokens and cost from an AI node's output (`usage`, `cost_usd`, `model`)."""
        usage = output.get("usage")
        if not isinstance(usage, dict):
            return
        model = str(output.get("model") or "unknown")
        for kind in ("input", "output"):
            count = usage.get(f"{kind}_tokens")
            if isinstance(count, int) and count > 0:
                self.tokens.labels(node_type, model, kind).inc(count)
        cost = output.get("cost_usd")
        if isinstance(cost, int | float) and cost > 0:
            self.cost.labels(node_type, model).inc(cost)


def exported_names() -> set[str]:
    """Every sample name the services' registries export (`_bucket`, `_sum`, `_count`
    and `_total` included): what the dashboard and the alert rules may name."""
    names: set[str] = set()
    for metrics in (GatewayMetrics(), SchedulerMetrics(), ExecutorMetrics()):
        for family in metrics.registry.collect():
            names.add(family.name)
            if family.type == "counter":
                names.add(f"{family.name}_total")
            elif family.type == "histogram":
                names.update(f"{family.name}_{s}" for s in ("bucket", "sum", "count"))
    return names
