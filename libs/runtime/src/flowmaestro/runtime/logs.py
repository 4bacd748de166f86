"""Structured logging to standard error, so standard output stays for command results.

One JSON object per line by default (`FLOWMAESTRO_LOG_FORMAT=console`: human-readable
`key=value` lines for development). Lines written while a node attempt or an execution is
in scope carry `execution_id`, `node_id`, `attempt` and `trace_id` (see `log_scope`).

Secrets never reach a log: tracebacks are plain (never a frame's local variables), and
every line passes `redact` before it is written, the standard library's records too.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import re
import sys
from collections.abc import Callable, Mapping
from typing import Any

import structlog
from structlog.typing import EventDict, Processor

__all__ = [
    "LOG_FORMAT_ENV",
    "REDACTED",
    "add_scope",
    "configure_logging",
    "log_scope",
    "redact",
    "redact_text",
]

LOG_FORMAT_ENV = "FLOWMAESTRO_LOG_FORMAT"
"""`json` (the default: one object per line) or `console` (`key=value`, for development)."""

REDACTED = "[redacted]"

_SECRET_NAME = re.compile(
    r"pass(word|wd|phrase)?|secret|token|api[_-]?key|authorization|credential|private[_-]?key"
    r"|dsn|database_url|cookie|signature|jwt|session[_-]?key",
    re.IGNORECASE,
)
"""A field, header or variable with such a name holds a secret."""

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # a URL's password: scheme://user:SECRET@host (DSNs, proxies, NATS URLs)
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^\s:/@]*:)[^\s@/]+@", re.IGNORECASE), rf"\1{REDACTED}@"),
    (re.compile(r"\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}", re.IGNORECASE), rf"\1 {REDACTED}"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), REDACTED),
    # name=value and "name": "value" where the name says secret (query strings, reprs, JSON);
    # "secret: text" in prose is left alone
    (
        re.compile(
            r"""(["']?\b[\w-]*(?:pass(?:word|wd)?|secret|token|api[_-]?key|credential"""
            r"""|private[_-]?key|authorization)[\w-]*\b["']?(?:\s*[=:]\s*["']|[=:]))"""
            r"""[^\s"',;}&)]+""",
            re.IGNORECASE,
        ),
        rf"\1{REDACTED}",
    ),
    # well-known key shapes: OpenAI/Anthropic `sk-…`, Slack `xox?-…`, Notion, AWS, Google
    (re.compile(r"\bsk-[A-Za-z0-9_-]{8,}"), REDACTED),
    (re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{8,}"), REDACTED),
    (re.compile(r"\b(secret|ntn)_[A-Za-z0-9]{20,}"), REDACTED),
    (re.compile(r"\bAKIA[0-9A-Z]{16}\b"), REDACTED),
    (re.compile(r"\bAIza[0-9A-Za-z_-]{20,}"), REDACTED),
]

_MIN_SECRET = 8
"""Shorter environment values are not treated as secrets (they would redact noise)."""


def _environment_secrets() -> list[str]:
    """Values of environment variables whose names say they are secrets (longest first)."""
    found = {
        value
        for name, value in os.environ.items()
        if _SECRET_NAME.search(name) and len(value) >= _MIN_SECRET
    }
    for raw in os.environ.get("FLOWMAESTRO_SECRET_KEYS", "").split(","):
        key = raw.partition(":")[2].strip()
        if len(key) >= _MIN_SECRET:
            found.add(key)
    return sorted(found, key=len, reverse=True)


_known: list[str] = []


def redact_text(text: str) -> str:
    """`text` with secrets replaced: the process's secret settings, and anything shaped
    like a password in a URL, a bearer token, a JWT, `password=…`, or a provider's key."""
    for secret in _known:
        if secret in text:
            text = text.replace(secret, REDACTED)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _scrub(value: Any, depth: int = 0) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if depth > 6:
        return value
    if isinstance(value, Mapping):
        return {
            k: REDACTED if isinstance(k, str) and _SECRET_NAME.search(k) else _scrub(v, depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return type(value)(_scrub(v, depth + 1) for v in value)
    if isinstance(value, int | float | bool) or value is None:
        return value
    return redact_text(repr(value))


def redact(_logger: Any, _method: str, event_dict: EventDict) -> EventDict:
    """The structlog processor: fields named like secrets are dropped, every other value
    (the formatted traceback included) has secrets replaced."""
    for key, value in list(event_dict.items()):
        if key != "event" and _SECRET_NAME.search(key):
            event_dict[key] = REDACTED
        else:
            event_dict[key] = _scrub(value)
    return event_dict


Scope = Callable[[], Mapping[str, Any]]
"""Gives the fields of the work in progress, computed only when a line is written."""

_scope: contextvars.ContextVar[Scope | None] = contextvars.ContextVar("fm_log_scope", default=None)


class log_scope:  # a class, not a generator: cheaper on the hot path
    """Lines logged inside the block (in this task and the tasks it starts) carry
    `fields()`: one context variable set, and nothing computed until a line is written, so
    the hot path pays nothing for lines it does not log."""

    __slots__ = ("_fields", "_token")

    def __init__(self, fields: Scope) -> None:
        self._fields = fields
        self._token: contextvars.Token[Scope | None] | None = None

    def __enter__(self) -> None:
        self._token = _scope.set(self._fields)

    def __exit__(self, *_exc: object) -> None:
        if self._token is not None:
            _scope.reset(self._token)


def add_scope(_logger: Any, _method: str, event_dict: EventDict) -> EventDict:
    """The structlog processor adding the current scope's fields (explicit fields win)."""
    fields = _scope.get()
    if fields is not None:
        for key, value in fields().items():
            if value is not None:
                event_dict.setdefault(key, value)
    return event_dict


def _json_line(_logger: Any, _method: str, event_dict: EventDict) -> str:
    return json.dumps(event_dict, default=repr, ensure_ascii=False)


def _console() -> bool:
    return os.environ.get(LOG_FORMAT_ENV, "json").strip().lower() in ("console", "text", "dev")


def configure_logging(default_level: str = "INFO") -> None:
    """Log to stderr at `FLOWMAESTRO_LOG_LEVEL` (or `default_level`), one JSON object per
    line or, with `FLOWMAESTRO_LOG_FORMAT=console`, `key=value` lines; the standard
    library's loggers (uvicorn, Litestar) go through the same scope and redaction."""
    _known[:] = _environment_secrets()
    level = getattr(
        logging, os.environ.get("FLOWMAESTRO_LOG_LEVEL", default_level).upper(), logging.INFO
    )
    shared: list[Processor] = [
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        add_scope,
        # plain text: a rich traceback would print every frame's locals (keys, tokens)
        structlog.processors.format_exc_info,
        redact,
    ]
    renderer: Processor = (
        structlog.dev.ConsoleRenderer(colors=False, exception_formatter=_no_traceback)
        if _console()
        else _json_line
    )
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
            foreign_pre_chain=[structlog.stdlib.ExtraAdder(), *shared],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(max(level, logging.WARNING))  # libraries' info chatter stays out


def _no_traceback(_sio: Any, _exc_info: Any) -> None:
    """The traceback is already text (and redacted) by the time the renderer runs."""
