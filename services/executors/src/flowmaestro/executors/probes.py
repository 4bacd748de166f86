"""Probes: the gateway asks, over NATS, to test an integration's connection or to list a
provider's models; an executor tries it here, behind the same egress policy as every node,
within a bounded time, and answers.

Running them here keeps the gateway from becoming a proxy into the platform's network: a
tenant's URL is resolved, checked and pinned by the nodes' egress policy, and the answer
says whether it worked, never what the far side sent back (beyond model names).
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import msgspec
import structlog
from nats.aio.client import Client
from nats.aio.msg import Msg

from flowmaestro.events.names import PROBE_QUEUE, probe_subject
from flowmaestro.events.probes import MAX_PROBE_TIMEOUT_S, ModelInfo, ProbeReply, ProbeRequest
from flowmaestro.executors.capabilities import open_integration
from flowmaestro.executors.context import Integration
from flowmaestro.executors.egress import HttpReply, send
from flowmaestro.executors.errors import NodeError, TerminalNodeError
from flowmaestro.executors.nodes.ai.access import ENV_BASE_URLS, ENV_KEYS, PROVIDER_ENDPOINTS
from flowmaestro.executors.nodes.email import check_smtp
from flowmaestro.executors.nodes.http import auth_headers
from flowmaestro.executors.nodes.notion import NOTION_API, NOTION_VERSION
from flowmaestro.executors.nodes.slack import SLACK_API, bearer
from flowmaestro.runtime.secrets import IntegrationDirectory, KeyRing

__all__ = ["MAX_MODELS", "MAX_PROBES", "Probes"]

log = structlog.get_logger("flowmaestro.executors.probes")

MAX_PROBES = 8
"""Probes one executor process runs at once; more are answered "busy"."""
MAX_MODELS = 500
"""Models listed at most (a reply stays far below the NATS payload limit)."""
_MAX_BODY = 2 * 1024 * 1024

_OPENAI_STYLE = ("openai", "openai_compatible")
_LISTED = (*_OPENAI_STYLE, "anthropic", "google", "cohere")
"""Providers whose models endpoint a probe can read."""
_DECODE = msgspec.json.Decoder(ProbeRequest)


def _model(item: Any) -> ModelInfo | None:
    """One entry of a models list: OpenAI's and Anthropic's `{id, display_name?}`, Google's
    `{name: "models/…", displayName}`, Cohere's `{name}`."""
    if not isinstance(item, dict):
        return None
    ident = item.get("id") or str(item.get("name") or "").removeprefix("models/")
    if not ident:
        return None
    return ModelInfo(
        id=str(ident), name=str(item.get("display_name") or item.get("displayName") or ident)
    )


def _models_of(reply: HttpReply) -> list[ModelInfo]:
    answer = reply.json_or_text()
    items: Any = None
    if isinstance(answer, dict):
        items = answer.get("data") if "data" in answer else answer.get("models")
    if not isinstance(items, list):
        raise TerminalNodeError("the provider's models endpoint answered no list", kind="provider")
    models = [m for m in map(_model, items[: MAX_MODELS * 2]) if m is not None]
    return sorted(models, key=lambda m: m.id)[:MAX_MODELS]


def _refused(reply: HttpReply, what: str) -> None:
    if reply.status in (401, 403):
        raise TerminalNodeError(f"{what} refused the credentials ({reply.status})", kind="auth")
    if reply.status >= 400:
        raise TerminalNodeError(f"{what} answered {reply.status}", kind=f"http_{reply.status}")


async def list_models(
    provider: str, api_key: str | None, base_url: str | None, timeout: float
) -> list[ModelInfo]:
    """The models `provider` offers at `base_url` (its own endpoint when None)."""
    if provider not in _LISTED:
        raise TerminalNodeError(f"listing {provider}'s models is not supported", kind="unsupported")
    base = (base_url or PROVIDER_ENDPOINTS.get(provider, "")).rstrip("/")
    if not base:
        raise TerminalNodeError(f"no endpoint known for {provider}", kind="invalid_config")
    headers: dict[str, str] = {}
    if provider in _OPENAI_STYLE:
        url = f"{base}/models"
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
    elif provider == "anthropic":
        url = f"{base}/v1/models?limit=1000"
        headers = {"x-api-key": api_key or "", "anthropic-version": "2023-06-01"}
    elif provider == "google":
        url = f"{base}/models?pageSize=1000"
        headers = {"x-goog-api-key": api_key or ""}
    else:  # cohere
        url = f"{base}/v1/models?page_size=1000"
        headers = {"Authorization": f"Bearer {api_key or ''}"}
    reply = await send("GET", url, headers=headers, timeout=timeout, max_bytes=_MAX_BODY)
    _refused(reply, provider)
    return _models_of(reply)


async def _test_http(integration: Integration, timeout: float) -> str:
    base = integration.config.get("base_url") or integration.config.get("url")
    if not base:
        raise TerminalNodeError(
            f"nothing to test: integration {integration.name!r} has no config.base_url",
            kind="unsupported",
        )
    reply = await send(
        "GET", str(base), headers=auth_headers(integration), timeout=timeout, max_bytes=_MAX_BODY
    )
    _refused(reply, str(base))
    return f"{base} answered {reply.status}"


async def _test_slack(integration: Integration, timeout: float) -> str:
    base = str(integration.config.get("base_url") or SLACK_API).rstrip("/")
    headers = {"Authorization": f"Bearer {bearer(integration)}"}
    reply = await send("POST", f"{base}/auth.test", headers=headers, timeout=timeout)
    _refused(reply, "slack")
    answer = reply.json_or_text()
    if not isinstance(answer, dict) or not answer.get("ok"):
        error = answer.get("error") if isinstance(answer, dict) else "no JSON answer"
        raise TerminalNodeError(f"slack: {error}", kind="auth")
    return f"signed in to Slack as {answer.get('user') or 'the bot'}"


async def _test_notion(integration: Integration, timeout: float) -> str:
    base = str(integration.config.get("base_url") or NOTION_API).rstrip("/")
    headers = {"Authorization": f"Bearer {bearer(integration)}", "Notion-Version": NOTION_VERSION}
    reply = await send("GET", f"{base}/users/me", headers=headers, timeout=timeout)
    _refused(reply, "notion")
    return "signed in to Notion"


async def _test_postgres(integration: Integration, timeout: float) -> str:
    # imported here: an executor loads the database driver only when it needs it
    from flowmaestro.events.catalogue import DatabaseConfig
    from flowmaestro.executors.postgres import query

    probe = DatabaseConfig(
        integration_id=integration.id,
        query="SELECT 1",
        max_rows=1,
        statement_timeout_ms=max(100, int(timeout * 1000)),
    )
    await query(integration, probe)
    return "PostgreSQL answered a query"


async def test_integration(integration: Integration, timeout: float) -> str:
    """Connect and authenticate as the integration; what worked, or a `NodeError`."""
    kind = integration.type
    if kind in _LISTED:
        models = await list_models(
            kind,
            integration.credentials.get("api_key"),
            integration.config.get("base_url"),
            timeout,
        )
        return f"connected: {len(models)} models available"
    if kind == "slack":
        return await _test_slack(integration, timeout)
    if kind == "notion":
        return await _test_notion(integration, timeout)
    if kind in ("email", "smtp"):
        return await check_smtp(integration)
    if kind in ("postgres", "database"):
        return await _test_postgres(integration, timeout)
    return await _test_http(integration, timeout)


class Probes:
    """Answers probe requests (queue group: one executor process answers each)."""

    def __init__(self, nc: Client, integrations: IntegrationDirectory, keys: KeyRing) -> None:
        self._nc = nc
        self._integrations = integrations
        self._keys = keys
        self._slots = asyncio.Semaphore(MAX_PROBES)
        self._running: set[asyncio.Future[None]] = set()

    async def subscribe(self) -> Any:
        """Start answering; returns the subscription (unsubscribe to stop)."""
        return await self._nc.subscribe(probe_subject(), queue=PROBE_QUEUE, cb=self._on_request)

    async def _on_request(self, msg: Msg) -> None:
        # One task per request: a slow far side must not hold up the next probe.
        task = asyncio.ensure_future(self._answer(msg))
        self._running.add(task)  # held until done (the loop keeps only weak references)
        task.add_done_callback(self._running.discard)

    async def _answer(self, msg: Msg) -> None:
        if self._slots.locked():
            reply = ProbeReply(ok=False, message="too many probes at once", kind="busy")
        else:
            async with self._slots:
                reply = await self.run(msg.data)
        if msg.reply:
            try:
                await msg.respond(msgspec.json.encode(reply))
            except Exception as exc:  # the asker is gone (closed, timed out): nothing to do
                log.info("probes.unanswered", error=repr(exc))

    async def run(self, data: bytes) -> ProbeReply:
        """Run one encoded request within its (bounded) time; never raises."""
        began = time.monotonic()
        try:
            request = _DECODE.decode(data)
        except msgspec.DecodeError as exc:
            return ProbeReply(ok=False, message=f"bad probe request: {exc}", kind="invalid")
        timeout = max(0.1, min(request.timeout_s, MAX_PROBE_TIMEOUT_S))
        try:
            reply = await asyncio.wait_for(self._run(request, timeout), timeout)
        except TimeoutError:
            reply = ProbeReply(ok=False, message=f"no answer within {timeout:g} s", kind="timeout")
        except NodeError as exc:
            reply = ProbeReply(ok=False, message=exc.message, kind=exc.kind)
        except Exception as exc:  # a probe reports what failed; it never kills the worker
            log.warning("probes.failed", error=repr(exc))
            reply = ProbeReply(ok=False, message=f"failed: {exc}", kind="error")
        return msgspec.structs.replace(reply, duration_ms=(time.monotonic() - began) * 1000)

    async def _run(self, request: ProbeRequest, timeout: float) -> ProbeReply:
        integration = await self._open(request) if request.integration_id else None
        if request.operation == "models":
            provider = request.provider or (integration.type if integration else "")
            if integration is not None:
                api_key = integration.credentials.get("api_key")
                base_url = integration.config.get("base_url")
            else:
                # The operator's key goes only to the operator's (or provider's) endpoint.
                api_key = os.environ.get(ENV_KEYS.get(provider, ""), "") or None
                base_url = os.environ.get(ENV_BASE_URLS.get(provider, ""), "") or None
            models = await list_models(provider, api_key, base_url, timeout)
            return ProbeReply(ok=True, message=f"{len(models)} models", models=models)
        if integration is None:
            return ProbeReply(ok=False, message="name an integration to test", kind="invalid")
        return ProbeReply(ok=True, message=await test_integration(integration, timeout))

    async def _open(self, request: ProbeRequest) -> Integration:
        assert request.integration_id is not None
        record = await self._integrations.get(request.integration_id)
        if record is None or record.owner_id != request.owner_id:
            raise TerminalNodeError(
                f"no integration {request.integration_id!r}", kind="integration"
            )
        return open_integration(record, self._keys)
