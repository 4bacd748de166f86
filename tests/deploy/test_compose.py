"""compose.yaml: valid offline, and naming only images, files and settings that exist."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

# The chart's and compose's defaults serve the built-in types; plugin pools are the operator's.
from flowmaestro.executors.registry import BUILTIN_EXECUTORS as EXECUTORS
from tests.deploy.paths import ROOT
from tests.deploy.source import documented_and_read

COMPOSE = ROOT / "compose.yaml"
EXAMPLE_ENV = ROOT / "deploy" / "compose" / "example.env"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def _services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def _one_off(service: dict[str, Any]) -> bool:
    return service.get("restart") == "no"


def test_matches_the_compose_specification_schema() -> None:
    schema = ["--builtin-schema", "vendor.compose-spec"]
    done = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", *schema, str(COMPOSE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="Debian's docker-compose")
def test_compose_tool_accepts_it_and_insists_on_the_secrets(tmp_path: Path) -> None:
    def config(env_file: Path) -> subprocess.CompletedProcess[str]:
        args = ["docker-compose", "--env-file", str(env_file), "-f", str(COMPOSE)]
        args += ["config", "-q"]
        clean = {k: v for k, v in os.environ.items() if not k.endswith(("PASSWORD", "SECRET"))}
        return subprocess.run(
            args, capture_output=True, text=True, timeout=60, check=False, env=clean, cwd=ROOT
        )

    assert config(EXAMPLE_ENV).returncode == 0
    empty = tmp_path / "empty.env"
    empty.write_text("")
    refused = config(empty)
    assert refused.returncode != 0 and "NATS_PASSWORD" in refused.stderr


def test_every_build_names_an_existing_dockerfile(compose: dict[str, Any]) -> None:
    for name, service in _services(compose).items():
        assert "image" in service, name
        build = service.get("build")
        if build is None:
            assert ":" in service["image"], f"{name}: a third-party image has a tag"
            continue
        assert (ROOT / build["context"] / build["dockerfile"]).is_file(), name


def test_every_mounted_file_exists(compose: dict[str, Any]) -> None:
    for name, service in _services(compose).items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).is_file(), f"{name}: {source}"
            else:
                assert source in compose["volumes"], f"{name}: named volume {source}"


def test_every_flowmaestro_variable_is_read_by_the_code_and_documented(
    compose: dict[str, Any],
) -> None:
    named = {
        variable
        for service in _services(compose).values()
        for variable in service.get("environment", {})
        if variable.startswith("FLOWMAESTRO_")
    }
    assert "FLOWMAESTRO_NATS_URL" in named
    missing = sorted(v for v in named if not documented_and_read(v))
    assert not missing, f"not read by the code or not in the README's table: {missing}"


def test_every_long_running_service_has_a_health_check(compose: dict[str, Any]) -> None:
    for name, service in _services(compose).items():
        if _one_off(service):
            continue
        built = service.get("build")
        # Our images declare their HEALTHCHECK; third-party ones get one here.
        assert built or "healthcheck" in service, name


def test_start_order_waits_for_health_and_for_the_one_off_steps(compose: dict[str, Any]) -> None:
    services = _services(compose)
    for name, service in services.items():
        for dependency, rule in service.get("depends_on", {}).items():
            assert dependency in services, f"{name} waits for unknown {dependency}"
            wanted = (
                "service_completed_successfully"
                if _one_off(services[dependency])
                else "service_healthy"
            )
            assert rule["condition"] == wanted, f"{name} -> {dependency}"
    assert set(services["gateway"]["depends_on"]) >= {"setup", "migrate"}
    assert set(services["setup"]["depends_on"]) == {"nats-1", "nats-2", "nats-3"}


def test_nats_is_a_three_server_cluster_with_replicated_streams_and_passwords(
    compose: dict[str, Any],
) -> None:
    services = _services(compose)
    servers = [n for n, s in services.items() if s["image"].startswith("nats:")]
    assert len(servers) == 3
    config = (ROOT / "deploy" / "compose" / "nats.conf").read_text()
    assert "jetstream" in config and "authorization" in config
    for server in servers:
        assert f"nats-route://{server}:6222" in config
    for name, service in services.items():
        env = service.get("environment", {})
        if url := env.get("FLOWMAESTRO_NATS_URL"):
            assert url.startswith("nats://flowmaestro:${NATS_PASSWORD}@"), name
            assert env["FLOWMAESTRO_STREAM_REPLICAS"] == "3", name


def test_two_schedulers(compose: dict[str, Any]) -> None:
    schedulers = [
        n
        for n, s in _services(compose).items()
        if s.get("build", {}).get("dockerfile", "").endswith("scheduler.Dockerfile")
        and not _one_off(s)
    ]
    assert len(schedulers) == 2


def test_executor_pools_serve_every_node_type_once(compose: dict[str, Any]) -> None:
    served: list[str] = []
    for service in _services(compose).values():
        build = service.get("build", {})
        if build.get("dockerfile", "").endswith("executors.Dockerfile"):
            served += build["args"]["NODE_TYPES"].split()
    assert sorted(served) == sorted(EXECUTORS)


def test_only_the_gateway_is_published_and_executors_cannot_reach_the_database(
    compose: dict[str, Any],
) -> None:
    services = _services(compose)
    assert [n for n, s in services.items() if s.get("ports")] == ["gateway"]
    assert compose["networks"]["data"]["internal"] and compose["networks"]["bus"]["internal"]
    for name, service in services.items():
        if name.startswith("executors"):
            assert set(service["networks"]) == {"bus", "egress"}, name
            assert "FLOWMAESTRO_DATABASE_URL" not in service["environment"], name
        if "postgres" in name:
            assert service["networks"] == ["data"]
    # The gateway is reachable only on the edge network, which no executor joins.
    assert "edge" in services["gateway"]["networks"]


def test_the_database_role_is_no_superuser() -> None:
    script = (ROOT / "deploy" / "compose" / "postgres-init.sh").read_text()
    assert "NOSUPERUSER NOCREATEDB NOCREATEROLE" in script
    assert "CREATE DATABASE flowmaestro OWNER flowmaestro" in script
