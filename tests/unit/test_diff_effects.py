"""Pure parts of the execution diff and of the side-effect preview, on simulated runs."""

from __future__ import annotations

from typing import Any

from msgspec.structs import replace

from flowmaestro.events import CATALOGUE, ExecuteNode, NodeCompleted, evolve
from flowmaestro.events.diff import diff_executions, json_diff, usage_of
from flowmaestro.events.effects import has_external_effects, preview_effects
from flowmaestro.events.names import child_execution_id, command_key
from tests.unit.sim import T0, definition, echo_result, simulate, started

LLM_LIKE = definition(
    {
        "a": ("echo", {"value": {"text": "hi", "n": [1, 2, 3]}}),
        "b": ("echo", {"value": 2}),
        "out": ("output", {"output": "${b.output}"}),
    },
    [("a", "b"), ("b", "out")],
)


def with_usage(tokens: int, cost: float, text: str) -> Any:
    def respond(command: ExecuteNode) -> Any:
        if command.node_id != "a":
            return echo_result(command)
        output = {
            "text": text,
            "usage": {"input_tokens": tokens - 1, "output_tokens": 1, "total_tokens": tokens},
            "cost_usd": cost,
        }
        return NodeCompleted(
            node_id="a", attempt=command.attempt, completed_at=T0, output=output, duration_ms=5.0
        )

    return respond


def test_json_diff_lists_pointer_paths_and_stops_at_the_bound() -> None:
    changes, truncated = json_diff(
        {"a": 1, "b": {"c": [1, 2]}, "gone": True, "x/y": 0},
        {"a": 1.0, "b": {"c": [1, 3, 4]}, "new": None, "x/y": 1},
    )
    found = {(c.path, c.op) for c in changes}
    assert found == {
        ("/b/c/1", "changed"),
        ("/b/c/2", "added"),
        ("/gone", "removed"),
        ("/new", "added"),
        ("/x~1y", "changed"),
    }
    assert not truncated
    assert json_diff(True, 1) == ([json_diff(True, 1)[0][0]], False)
    assert json_diff(True, 1)[0][0].op == "changed", "true is not 1"
    many, truncated = json_diff(list(range(50)), list(range(1, 51)), max_changes=10)
    assert len(many) == 10 and truncated
    (big,), _ = json_diff({}, {"k": "x" * 10_000})
    assert big.b["$fm.clipped"] == 10_002 and len(big.b["preview"]) == 200


def test_usage_is_read_from_what_llm_nodes_record() -> None:
    assert usage_of({"usage": {"total_tokens": 7}, "cost_usd": 0.5}) == (7, 0.5)
    assert usage_of({"usage": {"input_tokens": 3, "output_tokens": 2}}) == (5, None)
    assert usage_of({"usage": {"input_tokens": True}}) == (None, None)
    assert usage_of("text") == (None, None)


def test_two_runs_are_compared_node_by_node() -> None:
    a, _ = simulate(started(LLM_LIKE, execution_id="A"), with_usage(10, 0.25, "hi"))
    b, _ = simulate(started(LLM_LIKE, execution_id="B"), with_usage(30, 1.0, "ho"))
    diff = diff_executions(a, b)
    assert (diff.a, diff.b, diff.same_definition) == ("A", "B", True)
    assert (diff.tokens_a, diff.tokens_b, diff.cost_usd_a, diff.cost_usd_b) == (10, 30, 0.25, 1.0)
    by_id = {n.node_id: n for n in diff.nodes}
    assert [n.node_id for n in diff.nodes] == ["a", "b", "out"]
    node = by_id["a"]
    assert node.changed and node.duration_ms_a == 5.0
    assert {c.path for c in node.output_changes} == {
        "/text",
        "/usage/input_tokens",
        "/usage/total_tokens",
        "/cost_usd",
    }
    assert not by_id["b"].changed and by_id["b"].status_a == by_id["b"].status_b == "completed"
    assert diff.changed_nodes == 1


def test_a_node_only_one_run_has_is_named() -> None:
    other = definition({"a": ("echo", {"value": 1}), "z": ("echo", {"value": 2})}, [("a", "z")])
    a, _ = simulate(started(LLM_LIKE, execution_id="A"))
    b, _ = simulate(started(other, execution_id="B"))
    diff = diff_executions(a, b)
    only = {n.node_id: n.only_in for n in diff.nodes if n.only_in}
    assert only == {"b": "a", "out": "a", "z": "b"} and not diff.same_definition


EFFECTS = definition(
    {
        "fetch": ("http", {"url": "https://example.com/a"}),
        "think": ("echo", {"value": 1}),
        "read": ("database", {"integration_id": "i", "query": "select 1"}),
        "write": ("database", {"integration_id": "i", "query": "delete", "read_only": False}),
        "post": ("slack", {"integration_id": "s", "channel": "#c", "text": "hi"}),
        "each": (
            "loop",
            {
                "items": [1, 2],
                "body": {
                    "nodes": {
                        "hook": {
                            "id": "hook",
                            "type": "webhook",
                            "data": {"url": "https://x.y", "integration_id": "w"},
                        }
                    },
                    "edges": [],
                },
            },
        ),
    },
    [
        ("fetch", "think"),
        ("think", "read"),
        ("read", "write"),
        ("write", "post"),
        ("think", "each"),
    ],
)


def test_the_catalogue_alone_says_which_types_have_effects() -> None:
    effectful = {t for t, spec in CATALOGUE.items() if spec.has_effects({})}
    assert {"http", "slack", "email", "webhook"} <= effectful
    assert not {"echo", "transform", "llm", "code", "conditional"} & effectful
    assert has_external_effects("database", {"read_only": False})
    assert not has_external_effects("database", {})
    assert has_external_effects("notion", {"operation": "create_page"})
    assert not has_external_effects("notion", {"operation": "query_database"})
    assert has_external_effects("agent", {"tools": [{"name": "t", "url": "https://a.b"}]})
    assert has_external_effects("no-such-type", {}), "unknown: assume it has"


def test_a_retry_from_a_node_lists_the_effects_downstream_with_their_keys() -> None:
    state = evolve(None, started(EFFECTS, execution_id="run"), 1)
    ran = {n: replace(node, attempt=1) for n, node in state.nodes.items()}  # each ran once
    state = replace(state, nodes=ran)
    preview = preview_effects(state, "think")
    assert preview.rerun[0] == "think" and "fetch" not in preview.rerun
    listed = {(e.node_id, e.idempotency_key, tuple(e.via)) for e in preview.effects}
    child = child_execution_id("run", "each", 2, "*")
    assert listed == {
        ("write", command_key("run", "write", 2), ()),
        ("post", command_key("run", "post", 2), ()),
        ("hook", command_key(child, "hook", 1), ("each",)),
    }
    forked = preview_effects(state, "fetch", into="fork1")
    keys = {e.node_id: e.idempotency_key for e in forked.effects}
    assert keys["fetch"] == command_key("fork1", "fetch", 1)
    assert preview_effects(state, "post").rerun == ["post"]
