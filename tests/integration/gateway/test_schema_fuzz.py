"""The OpenAPI document at `/schema` is true: requests generated from it (examples,
coverage, fuzzing and stateful sequences along inferred links), authenticated, pass every
schemathesis check — response bodies and status codes as documented, the error envelope,
schema-valid requests accepted and invalid ones refused, security as declared, `Allow`
headers exact, no 5xx."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.gateway import register

pytestmark = pytest.mark.integration

# Every check on (the configuration file's equivalent of `--checks all`, which on the
# command line would also override the per-operation section below). One exception:
# `ensure_resource_availability` reads a 404 after a creation as "the new resource
# vanished". These two operations name the workflow in their body (`/execute`) or pair it
# with a version from the body (`/test`); a 404 there means "that workflow was deleted
# meanwhile" (its delete is on another path, which the check does not relate) or "it has
# no such version" — both true answers. A trigger's cron expression may match the
# documented pattern and still name no time (`0 0 31 2 *`) or fire more often than the
# operator's minimum interval allows: 400 there is a true answer too.
_CONFIG = """
[checks]
enabled = true

[[operations]]
include-name = ["POST /api/workflows/execute", "POST /api/workflows/{workflow_id}/test"]
checks.ensure_resource_availability.enabled = false

# A batch's CSV upload is a file whose content no JSON Schema can describe (UTF-8, a
# header row, data rows, cells of the workflow's declared input types): a generated file
# (an image, say) is schema-valid and rightly refused with 400 naming the problem.
[[operations]]
include-name = ["POST /api/workflows/{workflow_id}/batch"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "404", "409", "503"]

# A replay names exactly one of `definition` and `version`, a node test exactly one of
# `execution_id` and `inputs` (which the document cannot say), and a fork's `at_seq` or
# `set` must fit the run's own log: 400 there is a true answer.
[[operations]]
include-name = [
  "POST /api/executions/{execution_id}/replay",
  "POST /api/executions/{execution_id}/fork",
  "POST /api/workflows/{workflow_id}/nodes/{node_id}/test",
]
checks.positive_data_acceptance.expected-statuses = [
  "2xx", "400", "401", "404", "409", "413", "503"
]

[[operations]]
include-name = ["POST /api/triggers", "PUT /api/triggers/{trigger_id}"]
checks.positive_data_acceptance.expected-statuses = [
  "2xx", "400", "401", "403", "404", "409", "429", "5xx"
]
"""


async def test_generated_requests_pass_every_check(
    client: httpx.AsyncClient, gateway_url: str, tmp_path: Path
) -> None:
    schema = await client.get("/schema/openapi.json")
    assert schema.status_code == 200 and "/api/workflows" in schema.json()["paths"]
    user = await register(client, "Fuzzer")
    config = tmp_path / "schemathesis.toml"
    config.write_text(_CONFIG)
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(config),
        "run",
        f"{gateway_url}/schema/openapi.json",
        "--max-examples",
        "8",
        "--seed",
        "1",
        "--request-timeout",
        "10",
        "--workers",
        "1",
        "--no-color",
        "--header",
        f"Authorization: Bearer {user.token}",
        # An SSE stream of a live run lasts as long as the run; its replies are tested
        # in test_live.py.
        "--exclude-path",
        "/api/executions/{execution_id}/events",
        # likewise a batch's progress stream lasts as long as the batch (test_batches.py)
        "--exclude-path",
        "/api/batches/{batch_id}/events",
        "--report-dir",
        str(tmp_path),
    ]
    result = await asyncio.to_thread(
        subprocess.run, command, capture_output=True, text=True, timeout=150, cwd=tmp_path
    )
    output = result.stdout[-8000:] + result.stderr[-2000:]
    assert result.returncode == 0, output
    for phase in ("Examples", "Coverage", "Fuzzing", "Stateful"):
        assert f"✅ {phase}" in result.stdout, output
    # The token worked: generated requests reached the routes behind it and made things.
    made = await client.get("/api/workflows", headers=user.headers)
    assert made.json()["data"]["pagination"]["total"] > 0, output


def test_the_document_declares_security_only_where_a_token_is_needed() -> None:
    from flowmaestro.gateway.app import create_app
    from flowmaestro.gateway.config import GatewaySettings

    app = create_app(GatewaySettings(nats_url="nats://x", database_url="postgresql://x"), False)
    document = app.openapi_schema.to_schema()
    assert "security" not in document
    public = {"/health", "/ready", "/api/auth/register", "/api/auth/login", "/api/auth/verify"}
    public.add("/api/hooks/{token}")  # the URL is the capability; a signature checks it
    for path, item in document["paths"].items():
        for method, operation in item.items():
            needs_token = operation.get("security") == [{"BearerToken": []}]
            assert needs_token == (path not in public), (method, path)
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    schema = response["content"]["application/json"]["schema"]
                    assert "ErrorEnvelope" in schema.get("$ref", ""), (method, path, status)
