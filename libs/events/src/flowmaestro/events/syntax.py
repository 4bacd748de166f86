"""Syntax checks of the JSONata and JMESPath expressions a definition carries.

Only parsing, never evaluation, and bounded: an expression longer than
`EXPRESSION_CHECK_CHARS` or nested deeper than `EXPRESSION_CHECK_DEPTH` is reported
without being parsed (both parsers recurse, and some shapes parse in super-linear time),
and one definition parses at most `DEFINITION_CHECK_CHARS` characters of expressions in
all; the rest is checked when it runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

import jmespath
import jmespath.exceptions
import jsonata

from flowmaestro.events.errors import Problem

__all__ = [
    "DEFINITION_CHECK_CHARS",
    "EXPRESSION_CHECK_CHARS",
    "EXPRESSION_CHECK_DEPTH",
    "EXPRESSION_NODE_TYPES",
    "expression_problems",
    "syntax_error",
]

EXPRESSION_NODE_TYPES = frozenset({"transform", "conditional", "switch"})
"""Node types whose `data.expression` is JSONata or JMESPath (`data.language`)."""
EXPRESSION_CHECK_CHARS = 2000
"""The longest expression parsed at save time (a 2,000-character path parses in ~50 ms)."""
EXPRESSION_CHECK_DEPTH = 64
"""The deepest bracket nesting parsed at save time."""
DEFINITION_CHECK_CHARS = 20_000
"""Characters of expressions parsed per definition (the rest is checked at run time)."""

_OPEN = "([{"
_CLOSE = ")]}"
_JSONATA_POSITION = re.compile(r"\s*\(?at (?:position|character) \d+\)?", re.IGNORECASE)


def _depth(expression: str) -> int:
    deepest = depth = 0
    for char in expression:
        if char in _OPEN:
            depth += 1
            deepest = max(deepest, depth)
        elif char in _CLOSE:
            depth -= 1
    return deepest


@lru_cache(maxsize=4096)
def syntax_error(language: str, expression: str) -> str | None:
    """Why `expression` does not parse in `language` (`jsonata` or `jmespath`), or None.

    Callers keep expressions within `EXPRESSION_CHECK_CHARS`; results are cached, so an
    autosaved draft does not parse the same expression again."""
    if _depth(expression) > EXPRESSION_CHECK_DEPTH:
        return f"brackets are nested more than {EXPRESSION_CHECK_DEPTH} deep"
    try:
        if language == "jmespath":
            jmespath.compile(expression)
        else:
            jsonata.Jsonata(expression)
    except RecursionError:
        return "the expression is nested too deeply"
    except jmespath.exceptions.JMESPathError as exc:
        detail = getattr(exc, "msg", None) or str(exc).splitlines()[0]
        return str(detail).rstrip(": ").strip() or type(exc).__name__
    except Exception as exc:  # jsonata raises its own JException and plain errors
        return _JSONATA_POSITION.sub("", str(exc)).strip() or type(exc).__name__
    return None


def _expressions(nodes: Mapping[str, Any]) -> Iterator[tuple[str, str, str]]:
    for key, node in nodes.items():
        if not isinstance(node, Mapping) or node.get("type") not in EXPRESSION_NODE_TYPES:
            continue
        data = node.get("data")
        if not isinstance(data, Mapping):
            continue
        expression = data.get("expression")
        language = data.get("language", "jsonata")
        if isinstance(expression, str) and language in ("jsonata", "jmespath"):
            yield str(key), language, expression


def expression_problems(nodes: Mapping[str, Any]) -> list[Problem]:
    """A problem for each expression in `nodes` (raw definition nodes) that does not
    parse, within the bounds above."""
    problems: list[Problem] = []
    budget = DEFINITION_CHECK_CHARS
    for node_id, language, expression in _expressions(nodes):
        name = "JMESPath" if language == "jmespath" else "JSONata"
        if not expression.strip():
            problems.append(
                Problem("the expression is empty", node_id, "data.expression", "syntax")
            )
            continue
        if len(expression) > EXPRESSION_CHECK_CHARS:
            problems.append(
                Problem(
                    f"the expression is longer than {EXPRESSION_CHECK_CHARS} characters",
                    node_id,
                    "data.expression",
                    "too_long",
                )
            )
            continue
        if _depth(expression) > EXPRESSION_CHECK_DEPTH:
            error = f"brackets are nested more than {EXPRESSION_CHECK_DEPTH} deep"
            problems.append(
                Problem(f"{name} syntax error: {error}", node_id, "data.expression", "syntax")
            )
            continue
        if len(expression) > budget:
            continue  # checked when it runs
        budget -= len(expression)
        error = syntax_error(language, expression)
        if error is not None:
            problems.append(
                Problem(f"{name} syntax error: {error}", node_id, "data.expression", "syntax")
            )
    return problems
