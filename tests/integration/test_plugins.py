"""A node plugin installed beside FlowMaestro: the example `slugify` package, made visible
to child processes through `PYTHONPATH` (see `tests.support.plugins`), joins the
catalogue, the executor table and the schemas; `flowmaestro up` lists it at `/api/nodes`
and runs a workflow using it. A plugin shadowing a built-in type stops the process."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.integration.test_up import _up as up_stack
from tests.support.gateway import data_of, register
from tests.support.plugins import SLUGIFY, fake_plugin, plugin_env, site_with
from tests.support.runs import run_to_end

pytestmark = [pytest.mark.integration]

SETS = """
import json
from flowmaestro.events import CATALOGUE
from flowmaestro.events.catalogue import BUILTIN_TYPES, PLUGINS
from flowmaestro.events.names import command_subject
from flowmaestro.events.schema import all_schemas
from flowmaestro.executors import EXECUTORS
print(json.dumps({
    "catalogue": sorted(CATALOGUE),
    "executed": sorted(t for t, s in CATALOGUE.items() if not s.composite),
    "executors": sorted(EXECUTORS),
    "schemas": sorted(n[6:-5] for n in all_schemas() if n.startswith("nodes/")),
    "plugins": {t: p.distribution for t, p in PLUGINS.items()},
    "subject": command_subject("slugify"),
    "builtin": sorted(BUILTIN_TYPES),
}))
"""


def _python(env: dict[str, str], code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )


def test_with_the_plugin_installed_every_table_names_the_same_types(tmp_path: Path) -> None:
    done = _python(plugin_env(site_with(SLUGIFY, tmp_path)), SETS)
    assert done.returncode == 0, done.stderr
    sets = json.loads(done.stdout)
    assert sets["plugins"] == {"slugify": "flowmaestro-plugin-slugify"}
    assert "slugify" in sets["catalogue"] and "slugify" not in sets["builtin"]
    assert sets["executors"] == sets["executed"]
    assert sets["schemas"] == sets["catalogue"]
    assert sets["subject"] == "fm.cmd.slugify"


SHADOW = '''
from flowmaestro.events.catalogue import NodeConfig, NodePlugin, NodeSpec


class Config(NodeConfig, frozen=True, kw_only=True):
    """A second `http`."""


PLUGIN = NodePlugin(
    spec=NodeSpec("http", "HTTP", "io", "Not the real one.", Config, "anything"),
    executor="fm_shadow_http:run",
)
'''


def test_a_plugin_shadowing_http_stops_the_process_with_a_clear_error(tmp_path: Path) -> None:
    site = fake_plugin(
        tmp_path, "fm-shadow-http", {"fm_shadow_http.py": SHADOW}, {"http": "fm_shadow_http:PLUGIN"}
    )
    for code in ("import flowmaestro.events", "import flowmaestro.executors.registry"):
        done = _python(plugin_env([site]), code)
        assert done.returncode != 0
        assert "PluginError: plugin fm-shadow-http: node type 'http' shadows the built-in" in (
            done.stderr
        )


def _up(home: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return up_stack(home, env=env, timeout=90)


SLUG_WORKFLOW = {
    "nodes": {
        "start": {
            "id": "start",
            "type": "input",
            "position": {"x": 0, "y": 0},
            "data": {"schema": {"title": {"type": "string"}}},
        },
        "slug": {
            "id": "slug",
            "type": "slugify",
            "position": {"x": 250, "y": 0},
            "data": {"text": "${inputs.title}", "max_length": 20},
        },
        "result": {
            "id": "result",
            "type": "output",
            "position": {"x": 500, "y": 0},
            "data": {"output": "${slug.output.slug}"},
        },
    },
    "edges": [
        {"id": "e1", "source": "start", "target": "slug"},
        {"id": "e2", "source": "slug", "target": "result"},
    ],
}


async def _through_the_gateway(gateway: str) -> None:
    async with httpx.AsyncClient(base_url=gateway, timeout=30) as client:
        user = await register(client, "Plugger")
        nodes = data_of(await client.get("/api/nodes", headers=user.headers))["nodes"]
        slug = next(n for n in nodes if n["type"] == "slugify")
        assert slug["category"] == "data" and slug["name"] == "Slugify"
        assert "SlugifyConfig" in json.dumps(slug["config_schema"])

        bad = json.loads(json.dumps(SLUG_WORKFLOW))
        bad["nodes"]["slug"]["data"]["separator"] = "/"
        refused = await client.post(
            "/api/workflows", json={"name": "bad", "definition": bad}, headers=user.headers
        )
        assert refused.status_code == 400 and "separator" in refused.text

        detail = await run_to_end(
            client, user, SLUG_WORKFLOW, {"title": "Crème brûlée, à la carte!"}, timeout=60
        )
        assert detail["status"] == "completed", detail
        assert detail["outputs"] == {"result": "creme-brulee-a-la"}, detail


@pytest.mark.slow
def test_a_workflow_using_the_plugin_validates_and_completes_through_the_gateway(
    tmp_path: Path,
) -> None:
    from flowmaestro.runtime import free_port

    env = plugin_env(site_with(SLUGIFY, tmp_path / "site"))
    env.pop("FLOWMAESTRO_NATS_URL", None)
    env["FLOWMAESTRO_GATEWAY_PORT"] = str(free_port())
    home = tmp_path / "state"
    proc = _up(home, env)
    try:
        stack = json.loads((home / "stack.json").read_text())
        asyncio.run(_through_the_gateway(stack["gateway_url"]))
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
