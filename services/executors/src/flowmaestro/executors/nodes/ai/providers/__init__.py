"""Provider adapters behind one call: OpenAI (and compatible servers), Anthropic through
their official SDKs; Gemini and Cohere over their REST APIs."""

from __future__ import annotations

import asyncio
import importlib
import sys
from types import ModuleType

from flowmaestro.executors.nodes.ai.access import Access
from flowmaestro.executors.nodes.ai.chat import ChatRequest, ChatResult, OnDelta
from flowmaestro.executors.nodes.ai.providers import cohere, google

__all__ = ["adapter", "chat"]


async def adapter(name: str) -> ModuleType:
    """A provider adapter, imported on first use, off the event loop: the SDKs take a
    second or more to import and together double an idle executor's memory."""
    module = f"{__name__}.{name}"
    if module in sys.modules:
        return sys.modules[module]
    return await asyncio.to_thread(importlib.import_module, module)


async def chat(access: Access, request: ChatRequest, on_delta: OnDelta) -> ChatResult:
    """Call the provider named by `access.provider`; its failures become node errors."""
    match access.provider:
        case "anthropic":
            return await (await adapter("anthropic_chat")).complete(access, request, on_delta)
        case "google":
            return await google.complete(access, request, on_delta)
        case "cohere":
            return await cohere.complete(access, request, on_delta)
        case _:
            return await (await adapter("openai_chat")).complete(access, request, on_delta)
