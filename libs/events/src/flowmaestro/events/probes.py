"""What the gateway asks an executor to try on a tenant's behalf, and the answer.

A probe reaches the outside world, so it runs where nodes run — behind their egress
policy — never in the gateway. The gateway sends only ids it has checked the owner of.
"""

from __future__ import annotations

from typing import Literal

import msgspec

__all__ = ["MAX_PROBE_TIMEOUT_S", "ModelInfo", "ProbeReply", "ProbeRequest"]

MAX_PROBE_TIMEOUT_S = 30.0
"""The longest any probe may take, whatever the request asks."""


class ProbeRequest(msgspec.Struct, frozen=True, kw_only=True):
    """`test`: connect and authenticate with an integration; `models`: the models of a
    provider, reached with an integration's credentials or, without one, the operator's."""

    operation: Literal["test", "models"]
    owner_id: str
    integration_id: str | None = None
    provider: str | None = None
    timeout_s: float = 10.0


class ModelInfo(msgspec.Struct, frozen=True, kw_only=True):
    """One model a provider offers."""

    id: str
    name: str | None = None


class ProbeReply(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The outcome: `ok`, a message for a person, the error kind when it failed (`egress`
    for a refused address, `timeout`, `auth`, ...), how long it took, and the models."""

    ok: bool
    message: str
    kind: str | None = None
    duration_ms: float = 0.0
    models: list[ModelInfo] = []
