"""Where metrics are served: `FLOWMAESTRO_METRICS_PORT` per process, one port per service
under `flowmaestro up`, and none of them reachable by a node of the executors."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram

from flowmaestro.cli.stack import _service_env
from flowmaestro.runtime.metrics import FastCounter, FastHistogram, exported_names, metrics_port


def test_the_port_variable() -> None:
    assert metrics_port({}) is None
    assert metrics_port({"FLOWMAESTRO_METRICS_PORT": " "}) is None
    assert metrics_port({"FLOWMAESTRO_METRICS_PORT": "9464"}) == 9464
    with pytest.raises(ValueError):
        metrics_port({"FLOWMAESTRO_METRICS_PORT": "70000"})


def test_up_gives_each_service_its_own_port_and_denies_the_others_to_nodes() -> None:
    base = {"FLOWMAESTRO_METRICS_PORT": "9464", "FLOWMAESTRO_EGRESS_DENY": "10.0.0.5:80"}
    envs = {role: _service_env(base, "nats://x", None, role) for role in _roles()}
    ports = {role: env["FLOWMAESTRO_METRICS_PORT"] for role, env in envs.items()}
    assert ports == {"gateway": "9464", "scheduler": "9465", "executors": "9466"}
    deny = envs["executors"]["FLOWMAESTRO_EGRESS_DENY"].split(",")
    assert deny == ["10.0.0.5:80", "127.0.0.1:9464", "127.0.0.1:9465"]
    assert envs["gateway"]["FLOWMAESTRO_EGRESS_DENY"] == "10.0.0.5:80"
    assert "FLOWMAESTRO_METRICS_PORT" not in _service_env({}, "nats://x", None, "scheduler")


def test_every_service_exports_its_start_time_and_dependencies() -> None:
    names = exported_names()
    assert {"flowmaestro_service_start_time_seconds", "flowmaestro_dependency_up"} <= names
    assert all(name.startswith("flowmaestro_") for name in names)


def _roles() -> tuple[str, ...]:
    return ("gateway", "scheduler", "executors")


def test_the_hot_path_histogram_exposes_what_prometheus_client_would() -> None:
    """`FastHistogram` and `FastCounter` (no lock, built when scraped) give the samples
    prometheus_client's own types give for the same observations."""
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    buckets = (0.001, 0.01, 0.1, 1.0)
    fast = FastHistogram("t_seconds", "t", buckets, ["kind"], registry=ours)
    slow = Histogram("t_seconds", "t", ["kind"], buckets=buckets, registry=theirs)
    fast_count = FastCounter("n", "n", ["kind"], registry=ours)
    slow_count = Counter("n", "n", ["kind"], registry=theirs)
    for value in (0.0005, 0.001, 0.002, 0.5, 1.0, 7.0, 0.01):
        fast.observe(value, "a")
        slow.labels("a").observe(value)
        fast_count.inc(2, "a")
        slow_count.labels("a").inc(2)

    def samples(
        registry: CollectorRegistry,
    ) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in registry.collect()
            for s in family.samples
            if not s.name.endswith("_created")
        }

    assert samples(ours) == pytest.approx(samples(theirs))
