"""FlowMaestro gateway: the HTTP API, auth and tenants, the read model and live tails."""

from flowmaestro.gateway.app import create_app
from flowmaestro.gateway.config import GatewaySettings
from flowmaestro.gateway.errors import GatewayError
from flowmaestro.gateway.server import serve, uvicorn_server

__all__ = ["GatewayError", "GatewaySettings", "create_app", "serve", "uvicorn_server"]
