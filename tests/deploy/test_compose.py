"""compose.yaml: valid offline, and naming only images, files and settings that exist."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from flowmaestro.cli.database import APP_DATABASE, APP_ROLE, _setup_sql

# The chart's and compose's defaults serve the built-in types; plugin pools are the operator's.
from flowmaestro.executors.registry import BUILTIN_EXECUTORS as EXECUTORS
from flowmaestro.runtime.embedded import nats_server_binary
from flowmaestro.runtime.natsauth import IDENTITIES, password_variable, permissions
from scripts import gen_nats_authorization
from tests.deploy.paths import ROOT
from tests.deploy.source import cli_accepts, documented_and_read

COMPOSE = ROOT / "compose.yaml"
COMPOSE_DIR = ROOT / "deploy" / "compose"
EXAMPLE_ENV = COMPOSE_DIR / "example.env"


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
    assert refused.returncode != 0 and "_PASSWORD" in refused.stderr


def test_every_build_names_an_existing_dockerfile(compose: dict[str, Any]) -> None:
    for name, service in _services(compose).items():
        assert "image" in service, name
        build = service.get("build")
        if build is None:
            assert ":" in service["image"], f"{name}: a third-party image has a tag"
            continue
        assert (ROOT / build["context"] / build["dockerfile"]).is_file(), name


def _image_command(build: dict[str, Any]) -> list[str]:
    """The image's own CMD (the executors image's with its NODE_TYPES build argument)."""
    dockerfile = (ROOT / build["context"] / build["dockerfile"]).read_text()
    cmd = [line for line in dockerfile.splitlines() if line.startswith("CMD ")][-1][4:]
    if cmd.startswith("["):
        return json.loads(cmd)
    words = cmd.removeprefix("exec flowmaestro ").split()
    types = build.get("args", {}).get("NODE_TYPES", "").split()
    return [w for w in words if w != "$NODE_TYPES"] + types


def test_every_command_is_one_the_images_entry_point_runs(compose: dict[str, Any]) -> None:
    for name, service in _services(compose).items():
        build = service.get("build")
        if build is None:
            continue
        command = service.get("command") or _image_command(build)
        assert cli_accepts(command), f"{name}: flowmaestro {' '.join(command)}"
    assert not cli_accepts(["no-such-command"])


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


def test_nats_is_a_three_server_jetstream_cluster_with_authenticated_routes(
    compose: dict[str, Any],
) -> None:
    services = _services(compose)
    servers = [n for n, s in services.items() if s["image"].startswith("nats:")]
    assert servers == ["nats-1", "nats-2", "nats-3"]
    config = (COMPOSE_DIR / "nats.conf").read_text()
    assert "jetstream" in config and "include ./nats-authorization.conf" in config
    assert "password: $NATS_ROUTE_PASSWORD" in config  # routes must authenticate
    for name in servers:
        command = services[name]["command"]
        assert command[command.index("--name") + 1] == name
        routes = command[command.index("--routes") + 1].split(",")
        assert routes == [
            f"nats-route://route:${{NATS_ROUTE_PASSWORD}}@{peer}:6222" for peer in servers
        ]
        mounted = {v.split(":")[1] for v in services[name]["volumes"] if v.startswith("./")}
        assert mounted == {"/etc/nats/nats.conf", "/etc/nats/nats-authorization.conf"}
    for name, service in services.items():
        if "FLOWMAESTRO_NATS_URL" in service.get("environment", {}):
            assert service["environment"]["FLOWMAESTRO_STREAM_REPLICAS"] == "3", name


def test_nats_users_are_the_local_stacks_identities_and_permissions() -> None:
    """The committed authorization block is what natsauth generates (regenerate it with
    scripts/gen_nats_authorization.py): the same users, each with the same permissions."""
    expected = gen_nats_authorization.rendered()
    for target in gen_nats_authorization.TARGETS:
        assert target.read_text() == expected, f"{target} drifted from natsauth"
    for identity in IDENTITIES:
        line = next(x for x in expected.splitlines() if f'"user": "{identity}"' in x)
        assert f"${password_variable(identity)}," in line
        assert json.dumps(permissions(identity), sort_keys=True) in line


def test_nats_server_accepts_the_configuration_and_needs_every_password(tmp_path: Path) -> None:
    for name in ("nats.conf", "nats-authorization.conf"):
        shutil.copy(COMPOSE_DIR / name, tmp_path / name)
    passwords = {password_variable(i): f"pw-{i}" for i in IDENTITIES}
    passwords["NATS_ROUTE_PASSWORD"] = "pw-route"

    def check(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        args = [nats_server_binary(), "-t", "-c", "nats.conf"]
        return subprocess.run(
            args, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=30, check=False
        )

    done = check(passwords)
    assert done.returncode == 0, done.stdout + done.stderr
    for missing in passwords:
        refused = check({k: v for k, v in passwords.items() if k != missing})
        assert refused.returncode != 0 and missing in refused.stderr, missing


def test_each_service_connects_as_its_own_nats_identity(compose: dict[str, Any]) -> None:
    services = _services(compose)
    server_env = services["nats-1"]["environment"]
    wanted = {"setup": "cli", "gateway": "gateway"}
    seen: set[str] = set()
    for name, service in services.items():
        env = service.get("environment", {})
        if "FLOWMAESTRO_NATS_URL" not in env:
            assert "FLOWMAESTRO_NATS_USER" not in env, name
            continue
        identity = wanted.get(name) or name.split("-")[0]  # scheduler-1, executors-ai
        assert env["FLOWMAESTRO_NATS_USER"] == identity, name
        variable = password_variable(identity)
        assert env["FLOWMAESTRO_NATS_PASSWORD"] == f"${{{variable}}}", name
        assert server_env[variable].startswith(f"${{{variable}:?"), "the servers know it"
        for url in env["FLOWMAESTRO_NATS_URL"].split(","):
            assert "@" not in url, f"{name}: credentials belong in FLOWMAESTRO_NATS_PASSWORD"
        seen.add(identity)
    assert seen == set(IDENTITIES)


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


def test_the_database_role_is_the_one_the_local_stack_makes() -> None:
    """The same role attributes and revocations as `flowmaestro up` (database.py)."""
    script = (COMPOSE_DIR / "postgres-init.sh").read_text()
    local = _setup_sql("pw")  # pyright: ignore[reportPrivateUsage]
    found = re.search(rf"CREATE ROLE {APP_ROLE} ([A-Z ]+) PASSWORD", local)
    assert found and "NOSUPERUSER" in found[1]
    assert f"CREATE ROLE {APP_ROLE} {found[1]} PASSWORD :'app_password';" in script
    assert f"CREATE DATABASE {APP_DATABASE} OWNER {APP_ROLE};" in script
    for revoke in re.findall(r"REVOKE CONNECT ON DATABASE \w+ FROM PUBLIC;", local):
        assert revoke in script
    # Every service that names the database connects as that role, to that database.
    compose = yaml.safe_load(COMPOSE.read_text())
    for name, service in _services(compose).items():
        if url := service.get("environment", {}).get("FLOWMAESTRO_DATABASE_URL"):
            assert url.startswith(f"postgresql://{APP_ROLE}:"), name
            assert url.endswith(f"@postgres:5432/{APP_DATABASE}"), name
