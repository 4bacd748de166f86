"""NATS TLS and key settings read from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowmaestro.runtime.natstls import (
    CREDS_ENV,
    NKEY_SEED_ENV,
    TLS_CA_ENV,
    NatsSecurity,
    server_list,
)


def test_a_server_list_is_split_on_commas() -> None:
    assert server_list(" nats://a:1, tls://b:2 ,") == ["nats://a:1", "tls://b:2"]


def test_nothing_set_means_plain_and_no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (TLS_CA_ENV, CREDS_ENV, NKEY_SEED_ENV):
        monkeypatch.delenv(name, raising=False)
    security = NatsSecurity.from_env("nats://127.0.0.1:4222")
    assert security == NatsSecurity()
    assert security.natspy_options() == {}
    assert NatsSecurity.from_env("tls://example.org:4222").tls is not None


def test_a_missing_file_is_named_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(NKEY_SEED_ENV, str(tmp_path / "absent.nk"))
    with pytest.raises(ValueError, match=f"{NKEY_SEED_ENV}: no file at"):
        NatsSecurity.from_env()


def test_a_credentials_file_wins_over_a_seed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    creds, seed = tmp_path / "u.creds", tmp_path / "u.nk"
    creds.write_text("x")
    seed.write_text("y")
    monkeypatch.setenv(CREDS_ENV, str(creds))
    monkeypatch.setenv(NKEY_SEED_ENV, str(seed))
    security = NatsSecurity.from_env()
    assert (security.credentials_file, security.nkeys_seed) == (creds, None)
    assert security.natspy_options() == {"user_credentials": str(creds)}
