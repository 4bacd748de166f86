"""How an AI node reaches its provider: key, base URL and model, from the node's
integration or, for local use, from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

from flowmaestro.executors.context import NodeContext
from flowmaestro.executors.errors import TerminalNodeError

__all__ = ["DEFAULT_MODELS", "ENV_KEYS", "Access", "open_access"]

ENV_KEYS = {
    "openai": "OPENAI_API_KEY",
    "openai_compatible": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "google": "GEMINI_API_KEY",
    "cohere": "COHERE_API_KEY",
}
"""The environment variable holding each provider's key when no integration is named."""

DEFAULT_MODELS = {
    ("chat", "openai"): "gpt-4o-mini",
    ("chat", "openai_compatible"): "llama3.1",
    ("chat", "anthropic"): "claude-sonnet-5-5",
    ("chat", "google"): "gemini-2.0-flash",
    ("chat", "cohere"): "command-r-plus",
    ("embed", "openai"): "text-embedding-3-small",
    ("embed", "openai_compatible"): "nomic-embed-text",
    ("embed", "google"): "text-embedding-004",
    ("embed", "cohere"): "embed-english-v3.0",
    ("embed", "local"): "all-MiniLM-L6-v2",
    ("image", "openai"): "gpt-image-1",
    ("transcribe", "openai"): "whisper-1",
    ("speak", "openai"): "tts-1",
}
"""The model used when a node leaves `model` empty, by (purpose, provider)."""

_KEYLESS = "not-needed"


@dataclass(frozen=True, slots=True)
class Access:
    """Everything needed to call one provider for one command."""

    provider: str
    model: str
    api_key: str
    base_url: str | None
    idempotency_key: str
    timeout: float = 120.0

    def for_call(self, suffix: str) -> Access:
        """The same access with a distinct idempotency key for another call of the attempt.

        A far side that honours the key would otherwise answer a later call (the agent's
        next turn, a JSON repair) with the first call's cached response.
        """
        return replace(self, idempotency_key=f"{self.idempotency_key}:{suffix}")

    @property
    def headers(self) -> dict[str, str]:
        """Headers every request carries: the idempotency key, for far sides that accept one."""
        return {"Idempotency-Key": self.idempotency_key}


async def open_access(
    ctx: NodeContext,
    provider: str,
    model: str,
    integration_id: str | None,
    base_url: str | None,
    purpose: str = "chat",
) -> Access:
    """The key, base URL and model for this command.

    The node's `base_url` wins over the integration's `config.base_url`. A server named by
    `base_url` may take no key at all (Ollama, llama.cpp).
    """
    api_key: str | None = None
    if integration_id:
        integration = await ctx.integration(integration_id)
        api_key = integration.credentials.get("api_key")
        base_url = base_url or integration.config.get("base_url")
        model = model or str(integration.config.get("model") or "")
    else:
        api_key = os.environ.get(ENV_KEYS.get(provider, ""), "") or None
    if not api_key:
        if base_url or provider == "local":
            api_key = _KEYLESS
        else:
            raise TerminalNodeError(
                f"no API key for {provider}: name an integration or set "
                f"{ENV_KEYS.get(provider, 'the key')}",
                kind="auth",
            )
    model = model or DEFAULT_MODELS.get((purpose, provider), "")
    if not model:
        raise TerminalNodeError(f"no model given for {provider} ({purpose})", kind="invalid_config")
    timeout = ctx.command.timeout_seconds
    return Access(
        provider=provider,
        model=model,
        api_key=str(api_key),
        base_url=base_url,
        idempotency_key=ctx.idempotency_key,
        timeout=timeout,
    )
