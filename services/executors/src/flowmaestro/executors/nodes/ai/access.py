"""How an AI node reaches its provider: key, base URL and model, from the node's
integration or from the operator's environment.

The operator's keys (`OPENAI_API_KEY`, ...) are only ever sent to the provider's own
endpoint, or to the one the operator configured (`FLOWMAESTRO_OPENAI_BASE_URL`, ...). A
`base_url` of the workflow's own needs an integration that carries its own credentials;
an `openai_compatible` server (Ollama, vLLM) named by the node is called without a key.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from flowmaestro.events.names import call_key
from flowmaestro.executors.context import NodeContext
from flowmaestro.executors.errors import TerminalNodeError

__all__ = [
    "DEFAULT_MODELS",
    "ENV_BASE_URLS",
    "ENV_KEYS",
    "PROVIDER_ENDPOINTS",
    "Access",
    "at_provider_endpoint",
    "open_access",
]

ENV_KEYS = {
    "openai": "OPENAI_API_KEY",
    "openai_compatible": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "google": "GEMINI_API_KEY",
    "cohere": "COHERE_API_KEY",
}
"""The environment variable holding each provider's key when no integration is named."""

ENV_BASE_URLS = {
    "openai": "FLOWMAESTRO_OPENAI_BASE_URL",
    "openai_compatible": "FLOWMAESTRO_OPENAI_BASE_URL",
    "anthropic": "FLOWMAESTRO_ANTHROPIC_BASE_URL",
    "google": "FLOWMAESTRO_GOOGLE_BASE_URL",
    "cohere": "FLOWMAESTRO_COHERE_BASE_URL",
}
"""The environment variable naming the endpoint the operator's key goes to instead of the
provider's own (a company gateway, a regional endpoint)."""

PROVIDER_ENDPOINTS = {
    "openai": "https://api.openai.com/v1",
    "openai_compatible": "https://api.openai.com/v1",
    "anthropic": "https://api.anthropic.com",
    "google": "https://generativelanguage.googleapis.com/v1beta",
    "cohere": "https://api.cohere.com",
}
"""Each provider's own endpoint, where the operator's key may go."""

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
        return replace(self, idempotency_key=call_key(self.idempotency_key, suffix))

    @property
    def headers(self) -> dict[str, str]:
        """Headers every request carries: the idempotency key, for far sides that accept one."""
        return {"Idempotency-Key": self.idempotency_key}


def _origin(url: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
    return (parts.scheme.lower(), (parts.hostname or "").lower(), port)


def _operator_access(provider: str, base_url: str | None) -> tuple[str | None, str | None]:
    """The operator's key and endpoint for `provider`; refuses a node's own `base_url`
    (its host would receive the operator's key) unless it is the operator's endpoint."""
    operator_url = os.environ.get(ENV_BASE_URLS.get(provider, ""), "") or None
    endpoint = operator_url or PROVIDER_ENDPOINTS.get(provider)
    if base_url and (endpoint is None or _origin(base_url) != _origin(endpoint)):
        if provider == "openai_compatible":
            return None, base_url  # a server of the workflow's own, called without a key
        raise TerminalNodeError(
            f"base_url {base_url!r} is not {provider}'s endpoint: the operator's key is only "
            f"sent to {endpoint}; to use another server, name an integration that holds its "
            "own api_key (and the base_url)",
            kind="auth",
        )
    return os.environ.get(ENV_KEYS.get(provider, ""), "") or None, base_url or operator_url


def at_provider_endpoint(access: Access) -> bool:
    """True when `access` reaches the provider's own public service (not a server inside
    the operator's or a tenant's network, which must not fetch URLs a tenant chose)."""
    endpoint = PROVIDER_ENDPOINTS.get(access.provider)
    if endpoint is None or access.provider == "openai_compatible":
        return False
    return access.base_url is None or _origin(access.base_url) == _origin(endpoint)


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
    elif provider != "local":
        api_key, base_url = _operator_access(provider, base_url)
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
