"""FlowMaestro gateway: the HTTP API, auth and tenants, the read model and live tails.

Names load on first use, so `python -m flowmaestro.gateway` can set up its process
before anything heavy is imported.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flowmaestro.gateway.app import create_app
    from flowmaestro.gateway.config import GatewaySettings
    from flowmaestro.gateway.errors import GatewayError
    from flowmaestro.gateway.server import serve, uvicorn_server

__all__ = ["GatewayError", "GatewaySettings", "create_app", "serve", "uvicorn_server"]

_WHERE = {
    "create_app": "app",
    "GatewaySettings": "config",
    "GatewayError": "errors",
    "serve": "server",
    "uvicorn_server": "server",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
