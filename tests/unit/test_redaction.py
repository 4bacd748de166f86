"""Secrets never reach a log: the logging pipeline's redaction, and plain tracebacks."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from flowmaestro.runtime.logs import REDACTED, redact_text

CANARIES = {
    "jwt_secret": "canary-jwt-secret-3f9d1c",
    "openai": "sk-canary0penai4a7b9c2d",
    "db_password": "canaryDbPw77",
    "bearer": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjYW5hcnkifQ.c2lnbmF0dXJlY2FuYXJ5",
    "slack": "xoxb-canary-1234567890",
    "secret_key": "Y2FuYXJ5LWVuY3J5cHRpb24ta2V5LTMyYnl0ZXMhIQ==",
}


def test_text_patterns_are_redacted() -> None:
    samples = [
        f"postgresql://app:{CANARIES['db_password']}@db:5432/x",
        f"Authorization: Bearer {CANARIES['bearer']}",
        f"token={CANARIES['bearer']}&page=2",
        f'{{"api_key": "{CANARIES["openai"]}"}}',
        f"password='{CANARIES['db_password']}'",
        f"slack said no to {CANARIES['slack']}",
    ]
    for sample in samples:
        cleaned = redact_text(sample)
        assert REDACTED in cleaned
        assert not any(c in cleaned for c in CANARIES.values()), cleaned
    assert redact_text("nothing secret: node http failed with 502") == (
        "nothing secret: node http failed with 502"
    )


def test_a_service_log_holds_no_secret_after_errors() -> None:
    """A real process: secrets in its environment, an exception whose frames hold them in
    local variables and whose message holds a DSN, fields named like secrets, and a
    standard-library logger (uvicorn's kind) logging a token."""
    program = textwrap.dedent(
        f"""
        import logging
        import structlog
        from flowmaestro.runtime.logs import configure_logging

        configure_logging("INFO")
        log = structlog.get_logger("svc")

        def handler(settings, token):
            dsn = "postgresql://app:{CANARIES["db_password"]}@db/app"
            raise RuntimeError(f"cannot connect to {{dsn}}")

        try:
            handler({{"jwt_secret": "{CANARIES["jwt_secret"]}"}}, "{CANARIES["bearer"]}")
        except RuntimeError as exc:
            log.exception("gateway.internal_error", error=repr(exc))
        log.warning("node.failed", api_key="{CANARIES["openai"]}", headers={{
            "Authorization": "Bearer {CANARIES["bearer"]}"}})
        log.info("config", jwt="{CANARIES["jwt_secret"]}", note="{CANARIES["slack"]}")
        logging.getLogger("uvicorn.error").error(
            "request with %s failed", "Bearer {CANARIES["bearer"]}", exc_info=True)
        """
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "FLOWMAESTRO_JWT_SECRET": CANARIES["jwt_secret"],
        "OPENAI_API_KEY": CANARIES["openai"],
        "FLOWMAESTRO_SECRET_KEYS": f"k1:{CANARIES['secret_key']}",
    }
    done = subprocess.run(
        [sys.executable, "-c", program], env=env, capture_output=True, text=True, timeout=30
    )
    log = done.stderr
    assert "gateway.internal_error" in log and "Traceback" in log and "RuntimeError" in log
    assert "request with" in log
    leaked = [name for name, canary in CANARIES.items() if canary in log]
    assert leaked == [], log
