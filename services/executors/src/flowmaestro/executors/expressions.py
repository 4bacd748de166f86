"""JSONata and JMESPath evaluation with bounds; compiled expressions are cached."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import jmespath
import jmespath.exceptions
import jsonata

from flowmaestro.executors.errors import TerminalNodeError

__all__ = ["evaluate", "truthy"]


@lru_cache(maxsize=2048)
def _jsonata(expression: str) -> jsonata.Jsonata:
    return jsonata.Jsonata(expression)


@lru_cache(maxsize=2048)
def _jmespath(expression: str) -> Any:
    return jmespath.compile(expression)


def evaluate(
    language: str, expression: str, document: Any, timeout_ms: int = 1000, max_depth: int = 200
) -> Any:
    """Evaluate `expression` over `document`; a bad or runaway expression is terminal."""
    if language == "jmespath":
        try:
            return _jmespath(expression).search(document)
        except jmespath.exceptions.JMESPathError as exc:
            raise TerminalNodeError(f"JMESPath: {exc}", kind="expression") from exc
    try:
        compiled = _jsonata(expression)
        frame = compiled.create_frame()
        frame.set_runtime_bounds(timeout_ms, max_depth)
        return compiled.evaluate(document, frame)
    except RuntimeError as exc:
        raise TerminalNodeError(f"JSONata: {exc}", kind="expression") from exc


def truthy(value: Any) -> bool:
    """JSON truthiness: null, false, 0, "" and empty arrays/objects are false."""
    return bool(value)
