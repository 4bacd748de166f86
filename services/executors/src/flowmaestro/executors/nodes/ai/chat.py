"""A provider-neutral chat call: messages, tools, requests and results."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec

__all__ = [
    "ChatRequest",
    "ChatResult",
    "ImagePart",
    "Message",
    "OnDelta",
    "ToolCall",
    "ToolSpec",
    "Usage",
    "function_calls",
    "function_tools",
]


class ImagePart(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """An image in a user message: a URL, or base64 `data` of `media_type`."""

    url: str | None = None
    data: str | None = None
    media_type: str = "image/png"


class ToolCall(msgspec.Struct, frozen=True, kw_only=True):
    """One tool call the model asked for."""

    id: str
    name: str
    arguments: dict[str, Any] = {}


class Message(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One conversation turn; `tool` turns answer the call named by `tool_call_id`."""

    role: Literal["user", "assistant", "tool"]
    text: str = ""
    images: list[ImagePart] = []
    tool_calls: list[ToolCall] = []
    tool_call_id: str | None = None
    tool_name: str | None = None


class ToolSpec(msgspec.Struct, frozen=True, kw_only=True):
    """A tool offered to the model, its arguments described by JSON Schema."""

    name: str
    description: str = ""
    parameters: dict[str, Any] = {}


def function_calls(calls: list[ToolCall]) -> list[dict[str, Any]]:
    """An assistant's tool calls in the OpenAI shape (also Cohere's), arguments as JSON."""
    return [
        {
            "id": c.id,
            "type": "function",
            "function": {"name": c.name, "arguments": json.dumps(c.arguments)},
        }
        for c in calls
    ]


def function_tools(tools: list[ToolSpec]) -> list[dict[str, Any]]:
    """Tools in the OpenAI `{"type": "function", "function": {...}}` shape (also Cohere's)."""
    return [
        {
            "type": "function",
            "function": {"name": t.name, "description": t.description, "parameters": t.parameters},
        }
        for t in tools
    ]


class Usage(msgspec.Struct, frozen=True, kw_only=True):
    """Tokens read and written by one call (or summed over several)."""

    input_tokens: int = 0
    output_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
        )


class ChatResult(msgspec.Struct, frozen=True, kw_only=True):
    """What the model answered; `finish_reason` is `stop`, `length`, `tool_calls` or raw."""

    text: str = ""
    tool_calls: list[ToolCall] = []
    finish_reason: str = "stop"
    usage: Usage = Usage()
    model: str = ""


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """One call: system prompt, conversation, sampling settings, tools, JSON mode."""

    messages: list[Message]
    system: str = ""
    temperature: float | None = None
    max_tokens: int | None = None
    stop: list[str] = field(default_factory=list)
    tools: list[ToolSpec] = field(default_factory=list)
    json_mode: bool = False
    stream: bool = True


OnDelta = Callable[[str], Awaitable[None]]
"""Receives each text delta as it arrives."""
