"""The `slugify` plugin on its own: the slug rules, the executor and the config checks."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from flowmaestro_plugin_slugify import PLUGIN, SlugifyConfig
from flowmaestro_plugin_slugify.executor import run_slugify, slugify

from flowmaestro.events import ExecuteNode
from flowmaestro.executors import NodeContext, TerminalNodeError


async def _nothing(*_args: object) -> None:
    return None


def _context(text: str) -> NodeContext:
    command = ExecuteNode(
        execution_id="01example",
        node_id="slug",
        node_type="slugify",
        attempt=1,
        config={"text": text},
        timeout_seconds=10,
        scheduled_at=datetime.now(UTC),
        idempotency_key="01example:slug:1",
    )
    return NodeContext(command, PLUGIN.spec, _nothing, _nothing, _nothing, _nothing)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "options", "slug"),
    [
        ("Hello, World!", {}, "hello-world"),
        ("  Crème brûlée à la carte ", {}, "creme-brulee-a-la-carte"),
        ("Keep Case", {"lowercase": False, "separator": "_"}, "Keep_Case"),
        ("one two three", {"max_length": 8}, "one-two"),
        ("supercalifragilistic", {"max_length": 5}, "super"),
    ],
)
def test_slugify(text: str, options: dict[str, object], slug: str) -> None:
    assert slugify(text, **options) == slug  # type: ignore[arg-type]


def test_the_executor_outputs_the_slug_and_refuses_empty_text() -> None:
    result = asyncio.run(run_slugify(_context("A Title"), SlugifyConfig(text="A Title")))
    assert result.output == {"slug": "a-title"}
    with pytest.raises(TerminalNodeError):
        asyncio.run(run_slugify(_context("!!!"), SlugifyConfig(text="!!!")))


def test_the_checks_bound_separator_and_length() -> None:
    assert PLUGIN.spec.checks({"text": "x", "separator": "/", "max_length": 0}) == [
        ("separator", "must be '-', '_' or '.'"),
        ("max_length", "must be in [1, 200]"),
    ]
