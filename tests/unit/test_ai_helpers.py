"""Pure helpers of the AI executors: failure mapping, pricing, JSON answers, ranking,
provider message shapes and the offline embedding model."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from flowmaestro.executors import RetryableNodeError, TerminalNodeError
from flowmaestro.executors.nodes.ai.chat import ChatRequest, Message, ToolCall
from flowmaestro.executors.nodes.ai.failures import http_failure, retry_after_seconds
from flowmaestro.executors.nodes.ai.pricing import estimate_cost
from flowmaestro.executors.nodes.ai.providers import anthropic_chat, google
from flowmaestro.executors.nodes.ai.search import rank
from flowmaestro.executors.nodes.ai.structured import parse_json


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"retry-after-ms": "1500", "retry-after": "9"}, 1.5),
        ({"retry-after": "soon"}, None),
        ({}, None),
    ],
)
def test_retry_after_seconds(headers: dict[str, str], seconds: float | None) -> None:
    assert retry_after_seconds(headers) == seconds


def test_retry_after_http_date() -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    value = retry_after_seconds({"Retry-After": when})
    assert value is not None and 25 <= value <= 31


@pytest.mark.parametrize(
    ("status", "error", "kind"),
    [
        (429, RetryableNodeError, "rate_limited"),
        (503, RetryableNodeError, "provider_unavailable"),
        (408, RetryableNodeError, "provider_unavailable"),
        (401, TerminalNodeError, "auth"),
        (403, TerminalNodeError, "auth"),
        (400, TerminalNodeError, "bad_request"),
        (404, TerminalNodeError, "bad_request"),
    ],
)
def test_http_failures_map_to_retry_behaviour(status: int, error: type, kind: str) -> None:
    failure = http_failure("p", status, {"retry-after": "2"}, "nope")
    assert isinstance(failure, error) and failure.kind == kind
    if isinstance(failure, RetryableNodeError):
        assert failure.retry_after == 2.0


def test_estimate_cost() -> None:
    assert estimate_cost("gpt-4o-mini", 1_000_000, 1_000_000) == pytest.approx(0.75)
    assert estimate_cost("gpt-4o-2024-08-06", 1000, 0) == pytest.approx(0.0025)
    assert estimate_cost("my-local-llama", 10, 10) is None


def test_parse_json_accepts_fenced_json_and_checks_the_schema() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    assert parse_json('```json\n{"n": 1}\n```', schema) == ({"n": 1}, None)
    value, problem = parse_json('{"n": "x"}', schema)
    assert value is None and problem is not None and "at n" in problem
    value, problem = parse_json("nope", None)
    assert value is None and problem is not None and problem.startswith("not valid JSON")


def test_rank_is_cosine_similarity() -> None:
    scores = rank([1.0, 0.0], [[2.0, 0.0], [0.0, 3.0], [1.0, 1.0], [0.0, 0.0]])
    assert scores == pytest.approx([1.0, 0.0, 2**-0.5, 0.0])


def test_anthropic_groups_tool_results_into_one_user_turn() -> None:
    messages = [
        Message(role="user", text="go"),
        Message(
            role="assistant",
            tool_calls=[ToolCall(id="a", name="x"), ToolCall(id="b", name="y")],
        ),
        Message(role="tool", text="1", tool_call_id="a"),
        Message(role="tool", text="2", tool_call_id="b"),
    ]
    shaped = anthropic_chat._messages(messages)
    assert [m["role"] for m in shaped] == ["user", "assistant", "user"]
    assert [b["tool_use_id"] for b in shaped[2]["content"]] == ["a", "b"]


def test_gemini_body_uses_model_role_and_function_responses() -> None:
    request = ChatRequest(
        system="sys",
        messages=[
            Message(role="user", text="hi"),
            Message(role="assistant", tool_calls=[ToolCall(id="1", name="f", arguments={"a": 1})]),
            Message(role="tool", text="ok", tool_call_id="1", tool_name="f"),
        ],
        json_mode=True,
    )
    body = google._body(request)
    assert [c["role"] for c in body["contents"]] == ["user", "model", "user"]
    assert body["contents"][1]["parts"] == [{"functionCall": {"name": "f", "args": {"a": 1}}}]
    assert body["contents"][2]["parts"][0]["functionResponse"]["name"] == "f"
    assert body["generationConfig"]["responseMimeType"] == "application/json"
    assert body["systemInstruction"] == {"parts": [{"text": "sys"}]}


def test_offline_model_matches_the_published_reference_vector() -> None:
    from flowmaestro.executors.nodes.ai.local_model import local_embedder

    (vector,) = local_embedder().embed(["This is an example sentence"])
    # The first values sentence-transformers prints for all-MiniLM-L6-v2 on this sentence.
    assert vector[:5] == pytest.approx(
        [0.0676569, 0.0634959, 0.0487131, 0.0793050, 0.0374480], abs=1e-5
    )
    assert sum(v * v for v in vector) == pytest.approx(1.0, abs=1e-5)
