"""The service images: multi-stage, slim, not root, health-checked, built from uv.lock."""

from __future__ import annotations

import http.server
import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest
from dockerfile_parse import DockerfileParser

from tests.deploy.paths import DOCKER, ROOT, SERVICES


def _parsed(service: str) -> DockerfileParser:
    parser = DockerfileParser(path=str(DOCKER / f"{service}.Dockerfile"))
    parser.content  # noqa: B018 - read it now, so a missing file fails here
    return parser


def _instructions(service: str, name: str) -> list[str]:
    return [i["value"] for i in _parsed(service).structure if i["instruction"] == name]


@pytest.mark.parametrize("service", SERVICES)
def test_image_is_multi_stage_on_a_slim_base(service: str) -> None:
    froms = _instructions(service, "FROM")
    assert len(froms) >= 2, "build tools stay in a build stage"
    args = " ".join(_instructions(service, "ARG"))
    assert "python:3.11-slim" in args
    final = froms[-1]
    assert final.split()[0] == "${PYTHON_IMAGE}", "the runtime stage is the slim Python image"


@pytest.mark.parametrize("service", SERVICES)
def test_image_runs_as_a_numeric_non_root_user(service: str) -> None:
    users = _instructions(service, "USER")
    assert users, "a USER instruction"
    user = users[-1].split(":")[0]
    assert user.isdigit() and int(user) >= 1000, f"non-root numeric user, got {users[-1]!r}"
    # The USER comes after the last FROM: it applies to the runtime stage.
    structure = _parsed(service).structure
    last_from = max(i["startline"] for i in structure if i["instruction"] == "FROM")
    last_user = max(i["startline"] for i in structure if i["instruction"] == "USER")
    assert last_user > last_from


@pytest.mark.parametrize("service", SERVICES)
def test_image_has_a_health_check(service: str) -> None:
    checks = _instructions(service, "HEALTHCHECK")
    assert len(checks) == 1 and "CMD" in checks[0]
    assert "/app/healthcheck.py" in checks[0]
    if service == "gateway":
        assert "/health" in checks[0]


@pytest.mark.parametrize("service", SERVICES)
def test_image_installs_exactly_the_lock(service: str) -> None:
    copies = _instructions(service, "COPY")
    assert any("uv.lock" in c for c in copies)
    runs = " ".join(_instructions(service, "RUN"))
    assert "uv sync --locked --no-dev" in runs
    # Every path copied from the build context exists.
    for copy in copies:
        if copy.startswith("--from"):
            continue
        for source in copy.split()[:-1]:
            assert (ROOT / source).exists(), f"{service}: COPY source {source} is missing"


def test_gateway_image_serves_the_built_ui() -> None:
    copies = _instructions("gateway", "COPY")
    assert "--from=ui /src/ui/dist /app/ui" in copies
    assert "package-lock.json" in " ".join(copies) and "npm ci" in " ".join(
        _instructions("gateway", "RUN")
    )
    env = " ".join(_instructions("gateway", "ENV"))
    assert "FLOWMAESTRO_UI_DIR=/app/ui" in env and "FLOWMAESTRO_GATEWAY_HOST=0.0.0.0" in env


def test_executor_image_chooses_its_node_types_at_build_time() -> None:
    parser = _parsed("executors")
    args = _instructions("executors", "ARG")
    assert any(a.startswith("NODE_TYPES") for a in args)
    cmd = _instructions("executors", "CMD")[-1]
    assert cmd == "exec flowmaestro executors --types $NODE_TYPES"
    assert parser.baseimage  # parses to the end


def test_build_context_leaves_out_local_state() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    for path in (".venv", ".git", ".flowmaestro", "**/node_modules"):
        assert path in ignored


# --- the health check script itself, run as the image runs it ---


def _run_check(*args: str, env: dict[str, str] | None = None) -> int:
    script = DOCKER / "healthcheck.py"
    return subprocess.run(
        [sys.executable, str(script), *args], env=env, timeout=20, check=False
    ).returncode


@pytest.fixture
def http_server() -> Iterator[tuple[str, http.server.HTTPServer]]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status = 200 if self.path == "/health" else 503
            body = json.dumps({"status": status}).encode()
            self.send_response(status)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", server
    server.shutdown()
    server.server_close()


def test_health_check_passes_on_2xx_and_fails_otherwise(
    http_server: tuple[str, http.server.HTTPServer],
) -> None:
    base, _ = http_server
    assert _run_check(f"{base}/health") == 0
    assert _run_check(f"{base}/ready") == 1


def test_health_check_of_a_worker_follows_its_nats_server() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    closed = socket.create_server(("127.0.0.1", 0))
    down = closed.getsockname()[1]
    closed.close()
    # Several servers: healthy while any of them answers.
    env = {"FLOWMAESTRO_NATS_URL": f"nats://u:p@127.0.0.1:{down},nats://u:p@127.0.0.1:{port}"}
    assert _run_check(env=env) == 0
    listener.close()
    assert _run_check(env=env) == 1
