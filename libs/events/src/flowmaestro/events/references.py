"""`${...}` references inside node config: parsing, listing and resolving.

`${inputs.message}`, `${vars.total}`, `${node-2.output}` and `${node-2.output.items[0].name}`.
A string that is exactly one reference keeps the referenced JSON value and type; a
reference embedded in longer text is stringified (strings as they are, anything else as
JSON). `$${` writes a literal `${`. Unknown references raise, they never become "".
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from flowmaestro.events.errors import ReferenceResolutionError

__all__ = [
    "INPUTS_ROOT",
    "RESERVED_ROOTS",
    "VARS_ROOT",
    "Reference",
    "Scope",
    "find_references",
    "parse_reference",
    "resolve",
]

INPUTS_ROOT = "inputs"
VARS_ROOT = "vars"
RESERVED_ROOTS = frozenset({INPUTS_ROOT, VARS_ROOT})

_TEMPLATE = re.compile(r"\$\$\{|\$\{([^}]*)\}")
_PATH = re.compile(r"^([A-Za-z0-9_-]+)((?:\.[A-Za-z0-9_-]+|\[\d+\]|\[\"[^\"]*\"\])*)$")
_STEP = re.compile(r"\.([A-Za-z0-9_-]+)|\[(\d+)\]|\[\"([^\"]*)\"\]")


@dataclass(frozen=True, slots=True)
class Reference:
    """One parsed reference: its root (`inputs`, `vars` or a node id) and the path below."""

    text: str
    root: str
    path: tuple[str | int, ...]

    @property
    def node_id(self) -> str | None:
        """The referenced node's id, or None for `inputs`/`vars` references."""
        return None if self.root in RESERVED_ROOTS else self.root


@dataclass(frozen=True, slots=True)
class Scope:
    """What references resolve against: execution inputs, variables, node outputs."""

    inputs: Mapping[str, Any]
    vars: Mapping[str, Any]
    outputs: Mapping[str, Any]
    skipped: frozenset[str] = frozenset()


def parse_reference(body: str) -> Reference:
    """Parse the text between `${` and `}`; raise when it is not a valid reference."""
    text = "${" + body + "}"
    match = _PATH.match(body.strip())
    if not match:
        raise ReferenceResolutionError(f"malformed reference {text}")
    root, rest = match.group(1), match.group(2)
    path: list[str | int] = []
    for step in _STEP.finditer(rest):
        name, index, quoted = step.groups()
        path.append(int(index) if index is not None else (name if name is not None else quoted))
    if root not in RESERVED_ROOTS:
        if not path or path[0] != "output":
            raise ReferenceResolutionError(
                f"reference {text} must read a node's output, as in ${{{root}.output}}"
            )
        path = path[1:]
    return Reference(text=text, root=root, path=tuple(path))


def _iter_strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _iter_strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _iter_strings(item)


def find_references(value: Any) -> list[Reference]:
    """Every reference found in any string nested in `value`, in order."""
    found: list[Reference] = []
    for text in _iter_strings(value):
        for match in _TEMPLATE.finditer(text):
            if match.group(1) is not None:
                found.append(parse_reference(match.group(1)))
    return found


def _lookup(ref: Reference, scope: Scope) -> Any:
    if ref.root == INPUTS_ROOT:
        current: Any = scope.inputs
    elif ref.root == VARS_ROOT:
        current = scope.vars
    elif ref.root in scope.outputs:
        current = scope.outputs[ref.root]
    elif ref.root in scope.skipped:
        return None
    else:
        raise ReferenceResolutionError(f"{ref.text}: node {ref.root!r} has no output")
    for step in ref.path:
        if isinstance(step, int) and isinstance(current, list):
            if not -len(current) <= step < len(current):
                raise ReferenceResolutionError(f"{ref.text}: index {step} is out of range")
            current = current[step]
        elif isinstance(step, str) and isinstance(current, Mapping) and step in current:
            current = current[step]
        else:
            raise ReferenceResolutionError(f"{ref.text}: no {step!r} in the referenced value")
    return current


def _stringify(value: Any) -> str:
    return value if isinstance(value, str) else msgspec.json.encode(value).decode()


def _resolve_string(text: str, scope: Scope) -> Any:
    if "$" not in text:
        return text
    match = _TEMPLATE.fullmatch(text)
    if match and match.group(1) is not None:
        return _lookup(parse_reference(match.group(1)), scope)

    def substitute(m: re.Match[str]) -> str:
        if m.group(1) is None:
            return "${"
        return _stringify(_lookup(parse_reference(m.group(1)), scope))

    return _TEMPLATE.sub(substitute, text)


def resolve(value: Any, scope: Scope) -> Any:
    """Return `value` with every reference in it resolved against `scope`."""
    if isinstance(value, str):
        return _resolve_string(value, scope)
    if isinstance(value, Mapping):
        return {key: resolve(item, scope) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [resolve(item, scope) for item in value]
    return value
