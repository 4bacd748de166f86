"""TLS and key-based NATS authentication from the environment, for both clients.

`FLOWMAESTRO_NATS_TLS_CA` (a CA file to trust: every connection then uses TLS),
`FLOWMAESTRO_NATS_CREDS` (a `.creds` file: user JWT and nkey seed) and
`FLOWMAESTRO_NATS_NKEY_SEED` (a file holding a user's nkey seed) apply to nats-py and to
the lean hot-path connection alike. A `tls://` server URL also gets TLS (with the system's
trust store when no CA is given).
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["NatsSecurity", "server_list"]

TLS_CA_ENV = "FLOWMAESTRO_NATS_TLS_CA"
CREDS_ENV = "FLOWMAESTRO_NATS_CREDS"
NKEY_SEED_ENV = "FLOWMAESTRO_NATS_NKEY_SEED"


def server_list(url: str) -> list[str]:
    """`url` may name several servers separated by commas (tried in turn)."""
    return [u.strip() for u in url.split(",") if u.strip()]


@dataclass(frozen=True)
class NatsSecurity:
    """What secures a connection beyond user and password."""

    tls: ssl.SSLContext | None = None
    credentials_file: Path | None = None
    nkeys_seed: Path | None = None

    @classmethod
    def from_env(cls, url: str = "") -> NatsSecurity:
        """Read the environment; a missing file named there is an error now, not at the
        first reconnection."""
        env = os.environ
        ca = env.get(TLS_CA_ENV, "").strip()
        tls = None
        if ca:
            tls = ssl.create_default_context(cafile=_existing(TLS_CA_ENV, ca))
        elif any(u.startswith("tls://") for u in server_list(url)):
            tls = ssl.create_default_context()
        creds = env.get(CREDS_ENV, "").strip()
        seed = env.get(NKEY_SEED_ENV, "").strip()
        return cls(
            tls=tls,
            credentials_file=Path(_existing(CREDS_ENV, creds)) if creds else None,
            nkeys_seed=Path(_existing(NKEY_SEED_ENV, seed)) if seed and not creds else None,
        )

    def natspy_options(self) -> dict[str, Any]:
        """Keyword arguments for nats-py's `connect`."""
        options: dict[str, Any] = {}
        if self.tls is not None:
            options["tls"] = self.tls
        if self.credentials_file is not None:
            options["user_credentials"] = str(self.credentials_file)
        elif self.nkeys_seed is not None:
            options["nkeys_seed"] = str(self.nkeys_seed)
        return options

    def wire_options(self) -> dict[str, Any]:
        """Keyword arguments for `Wire`."""
        return {
            "tls": self.tls,
            "credentials_file": self.credentials_file,
            "nkeys_seed": self.nkeys_seed,
        }


def _existing(variable: str, path: str) -> str:
    if not Path(path).is_file():
        raise ValueError(f"{variable}: no file at {path}")
    return path
