"""Node plugins: what discovery refuses (shadowed built-ins, names that are not subject
tokens, mismatched names) and the egress scan that refuses a plugin connecting itself."""

from __future__ import annotations

import importlib
import sys
from importlib.metadata import EntryPoint
from pathlib import Path

import msgspec
import pytest

from flowmaestro.events.catalogue import (
    BUILTIN_TYPES,
    CATALOGUE,
    PLUGIN_GROUP,
    NodeConfig,
    NodePlugin,
    NodeSpec,
    PluginError,
)
from flowmaestro.events.catalogue.plugins import InstalledPlugin, plugins_from
from flowmaestro.executors.egress.scan import plugin_violations
from flowmaestro.executors.plugins import choose, load_executors


class ShoutConfig(NodeConfig, frozen=True, kw_only=True):
    """`shout`: a test node type."""

    text: str = msgspec.field(default="")


SHOUT = NodePlugin(
    spec=NodeSpec("shout", "Shout", "data", "Upper-cases text.", ShoutConfig, "{text}"),
    executor="fm_test_shout.executor:run_shout",
)

BUILTIN = {t: CATALOGUE[t] for t in BUILTIN_TYPES}


def _entry(name: str, value: str = "tests.unit.test_plugins:SHOUT") -> EntryPoint:
    return EntryPoint(name, value, PLUGIN_GROUP)


def test_a_plugin_is_found_under_its_type() -> None:
    found = plugins_from([_entry("shout")], BUILTIN)
    assert list(found) == ["shout"]
    assert found["shout"].plugin is SHOUT


def test_a_plugin_shadowing_a_built_in_type_is_refused() -> None:
    with pytest.raises(PluginError, match="'http' shadows the built-in node type 'http'"):
        plugins_from([_entry("http")], BUILTIN)


@pytest.mark.parametrize("name", ["my.type", "my type", "shout>", "*", "émoji"])
def test_a_name_that_is_not_a_subject_token_is_refused(name: str) -> None:
    with pytest.raises(PluginError, match="not a valid name"):
        plugins_from([_entry(name)], BUILTIN)


def test_the_entry_point_and_the_spec_name_the_same_type() -> None:
    with pytest.raises(PluginError, match="must be the same word"):
        plugins_from([_entry("yell")], BUILTIN)


def test_an_object_that_is_not_a_node_plugin_is_refused() -> None:
    with pytest.raises(PluginError, match="is not a NodePlugin"):
        plugins_from([_entry("shout", "tests.unit.test_plugins:BUILTIN")], BUILTIN)


def test_a_type_declared_twice_is_refused() -> None:
    with pytest.raises(PluginError, match="also declared"):
        plugins_from([_entry("shout"), _entry("shout")], BUILTIN)


def _package(root: Path, executor_source: str) -> None:
    for name in [m for m in sys.modules if m.split(".")[0] == "fm_test_shout"]:
        del sys.modules[name]  # each test writes its own copy of the package
    importlib.invalidate_caches()
    package = root / "fm_test_shout"
    package.mkdir()
    (package / "__init__.py").write_text('"""A test plugin."""\n')
    (package / "executor.py").write_text(executor_source)


GOOD = """
from flowmaestro.events.catalogue import NodeConfig
from flowmaestro.executors import NodeResult, TerminalNodeError
from flowmaestro.executors.context import NodeContext
from flowmaestro.executors.egress import send


async def run_shout(ctx, config):
    return NodeResult(output={"text": config.text.upper()})
"""

LEAKY = [
    "import httpx\n\nasync def run_shout(ctx, config):\n    await httpx.AsyncClient().get('x')\n",
    "import socket\n\nasync def run_shout(ctx, config):\n    socket.create_connection(('h', 1))\n",
    "from httpx import get\n\nasync def run_shout(ctx, config):\n    get('x')\n",
    "async def run_shout(ctx, config):\n    __import__('sock' + 'et')\n",
    "import importlib\n\nasync def run_shout(ctx, config):\n    pass\n",
    "import nats\n\nasync def run_shout(ctx, config):\n    await nats.connect()\n",
    "from flowmaestro.runtime.secrets import IntegrationDirectory\n",
    "from flowmaestro.executors import EXECUTORS\n",
    "from flowmaestro.executors import postgres\n",
    "import flowmaestro.executors.capabilities\n",
]


def test_a_clean_plugin_executor_is_loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _package(tmp_path, GOOD)
    monkeypatch.syspath_prepend(str(tmp_path))
    executors = load_executors({"shout": InstalledPlugin(SHOUT, "fm-test-shout")})
    assert executors["shout"].__name__ == "run_shout"


@pytest.mark.parametrize("source", LEAKY)
def test_a_plugin_that_connects_by_itself_is_refused_before_import(
    source: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _package(tmp_path, source)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert plugin_violations(tmp_path / "fm_test_shout")
    with pytest.raises(PluginError, match="reaches past the plugin API"):
        load_executors({"shout": InstalledPlugin(SHOUT, "fm-test-shout")})
    assert "fm_test_shout.executor" not in sys.modules


def test_the_example_plugin_passes_the_scan() -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "plugins"
    assert (
        plugin_violations(
            example / "flowmaestro-plugin-slugify" / "src" / "flowmaestro_plugin_slugify"
        )
        == []
    )


async def _run_nothing(_ctx: object, _config: object) -> None:
    return None


def test_an_executor_process_runs_chosen_types_and_plugins() -> None:
    executors = {"echo": _run_nothing, "http": _run_nothing, "shout": _run_nothing}
    plugins = {"shout": InstalledPlugin(SHOUT, "fm-test_Shout")}
    assert set(choose(executors, plugins, None, None)) == {"echo", "http", "shout"}  # type: ignore[arg-type]
    assert set(choose(executors, plugins, ["echo"], ["FM.test-shout"])) == {"echo", "shout"}  # type: ignore[arg-type]
    assert set(choose(executors, plugins, None, ["fm-test-shout"])) == {"shout"}  # type: ignore[arg-type]
    with pytest.raises(PluginError, match="no executor for node type"):
        choose(executors, plugins, ["ech0"], None)  # type: ignore[arg-type]
    with pytest.raises(PluginError, match="no installed plugin package 'fm-nothing'"):
        choose(executors, plugins, None, ["fm-nothing"])  # type: ignore[arg-type]
