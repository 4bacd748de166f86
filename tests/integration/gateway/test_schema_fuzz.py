"""Property-based requests generated from the OpenAPI schema at `/schema`: none may get a
5xx answer."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.gateway import register

pytestmark = pytest.mark.integration


async def test_no_generated_request_gets_a_server_error(
    client: httpx.AsyncClient, gateway_url: str, tmp_path: Path
) -> None:
    schema = await client.get("/schema/openapi.json")
    assert schema.status_code == 200 and "/api/workflows" in schema.json()["paths"]
    user = await register(client, "Fuzzer")
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        f"{gateway_url}/schema/openapi.json",
        "--checks",
        "not_a_server_error",
        "--max-examples",
        "8",
        "--phases",
        "examples,coverage,fuzzing",
        "--seed",
        "1",
        "--request-timeout",
        "10",
        "--workers",
        "1",
        "--no-color",
        "--header",
        f"Authorization: Bearer {user.token}",
        "--exclude-path",
        "/api/executions/{execution_id}/events",
        "--report-dir",
        str(tmp_path),
    ]
    result = await asyncio.to_thread(
        subprocess.run, command, capture_output=True, text=True, timeout=110, cwd=tmp_path
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
