"""Expression tasks inside a worker process: JSONata and JMESPath, compiled once each."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import jmespath
import jmespath.exceptions
import jsonata

from flowmaestro.workers import TaskFailed

__all__ = ["evaluate", "handle"]


@lru_cache(maxsize=2048)
def _jsonata(expression: str) -> jsonata.Jsonata:
    return jsonata.Jsonata(expression)


@lru_cache(maxsize=2048)
def _jmespath(expression: str) -> Any:
    return jmespath.compile(expression)


def evaluate(
    language: str, expression: str, document: Any, timeout_ms: int = 1000, max_depth: int = 200
) -> Any:
    """Evaluate `expression` over `document`; raises `TaskFailed` (`expression`, `timeout`)."""
    if language == "jmespath":
        try:
            return _jmespath(expression).search(document)
        except jmespath.exceptions.JMESPathError as exc:
            raise TaskFailed("expression", f"JMESPath: {exc}") from exc
    try:
        compiled = _jsonata(expression)
        frame = compiled.create_frame()
        frame.set_runtime_bounds(timeout_ms, max_depth)
        return compiled.evaluate(document, frame)
    except RuntimeError as exc:
        kind = "timeout" if "timeout" in str(exc).lower() else "expression"
        raise TaskFailed(kind, f"JSONata: {exc}") from exc


def handle(payload: dict[str, Any]) -> Any:
    """Evaluate one expression request."""
    return evaluate(
        payload["language"],
        payload["expression"],
        payload["document"],
        int(payload["timeout_ms"]),
        int(payload["max_depth"]),
    )
