"""Where metrics are served: `FLOWMAESTRO_METRICS_PORT` per process, one port per service
under `flowmaestro up`, and none of them reachable by a node of the executors."""

from __future__ import annotations

import pytest

from flowmaestro.cli.stack import _service_env
from flowmaestro.runtime.metrics import exported_names, metrics_port


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
