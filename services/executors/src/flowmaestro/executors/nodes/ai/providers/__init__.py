"""Provider adapters behind one call: OpenAI (and compatible servers), Anthropic through
their official SDKs; Gemini and Cohere over their REST APIs."""

from __future__ import annotations

from flowmaestro.executors.nodes.ai.access import Access
from flowmaestro.executors.nodes.ai.chat import ChatRequest, ChatResult, OnDelta
from flowmaestro.executors.nodes.ai.providers import anthropic_chat, cohere, google, openai_chat

__all__ = ["chat"]


async def chat(access: Access, request: ChatRequest, on_delta: OnDelta) -> ChatResult:
    """Call the provider named by `access.provider`; its failures become node errors."""
    match access.provider:
        case "anthropic":
            return await anthropic_chat.complete(access, request, on_delta)
        case "google":
            return await google.complete(access, request, on_delta)
        case "cohere":
            return await cohere.complete(access, request, on_delta)
        case _:
            return await openai_chat.complete(access, request, on_delta)
