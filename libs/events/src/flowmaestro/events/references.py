"""`${...}` references inside node config: parsing, listing and resolving.

`${inputs.message}`, `${vars.total}`, `${node-2.output}` and `${node-2.output.items[0].name}`.
A string that is exactly one reference keeps the referenced JSON value and type; a
reference embedded in longer text is stringified (strings as they are, anything else as
JSON). `$${` writes a literal `${`. Unknown references raise, they never become "".

A node output too large to travel inline is a `StoredOutput` in the scope: a reference to
it (or into it) resolves to a small marker naming the stored object and the path, and a
template embedding it becomes a concatenation marker. The executor that runs the node
reads the markers back (`flowmaestro.runtime.outputs`), so no command carries the value.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from flowmaestro.events.errors import ReferenceResolutionError
from flowmaestro.events.names import CONCAT_KEY, OUTPUT_PATH_KEY, OUTPUT_REF_KEY

__all__ = [
    "INPUTS_ROOT",
    "RESERVED_ROOTS",
    "VARS_ROOT",
    "Reference",
    "Scope",
    "StoredOutput",
    "find_references",
    "follow_path",
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
class StoredOutput:
    """A node output kept in the object store under `name`; `path` reads into it."""

    name: str
    path: tuple[str | int, ...] = ()

    def marker(self) -> dict[str, Any]:
        """The JSON marker that stands for this value in a command or an event."""
        marker: dict[str, Any] = {OUTPUT_REF_KEY: self.name}
        if self.path:
            marker[OUTPUT_PATH_KEY] = list(self.path)
        return marker

    @classmethod
    def from_marker(cls, value: Any) -> StoredOutput | None:
        """The stored output a marker names, or None when `value` is not a marker."""
        if not isinstance(value, Mapping) or not isinstance(value.get(OUTPUT_REF_KEY), str):
            return None
        path = value.get(OUTPUT_PATH_KEY) or []
        if set(value) - {OUTPUT_REF_KEY, OUTPUT_PATH_KEY} or not isinstance(path, list):
            return None
        steps = tuple(p for p in path if isinstance(p, str | int))
        return cls(value[OUTPUT_REF_KEY], steps) if len(steps) == len(path) else None


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
    if isinstance(current, StoredOutput):
        return StoredOutput(current.name, (*current.path, *ref.path))
    return follow_path(current, ref.path, ref.text)


def follow_path(current: Any, path: tuple[str | int, ...], text: str) -> Any:
    """The value at `path` below `current`; `text` names the reference in errors."""
    for step in path:
        if isinstance(step, int) and isinstance(current, list):
            if not -len(current) <= step < len(current):
                raise ReferenceResolutionError(f"{text}: index {step} is out of range")
            current = current[step]
        elif isinstance(step, str) and isinstance(current, Mapping) and step in current:
            current = current[step]
        else:
            raise ReferenceResolutionError(f"{text}: no {step!r} in the referenced value")
    return current


def _stringify(value: Any) -> str:
    return value if isinstance(value, str) else msgspec.json.encode(value).decode()


def _resolve_string(text: str, scope: Scope) -> Any:
    if "$" not in text:
        return text
    match = _TEMPLATE.fullmatch(text)
    if match and match.group(1) is not None:
        value = _lookup(parse_reference(match.group(1)), scope)
        return value.marker() if isinstance(value, StoredOutput) else value
    parts: list[Any] = []
    end = 0
    for m in _TEMPLATE.finditer(text):
        parts.append(text[end : m.start()])
        end = m.end()
        if m.group(1) is None:
            parts.append("${")
            continue
        value = _lookup(parse_reference(m.group(1)), scope)
        parts.append(value if isinstance(value, StoredOutput) else _stringify(value))
    parts.append(text[end:])
    if any(isinstance(p, StoredOutput) for p in parts):
        # The text can only be written once the stored value is read: by the executor.
        return {CONCAT_KEY: [p.marker() if isinstance(p, StoredOutput) else p for p in parts if p]}
    return "".join(parts)


def resolve(value: Any, scope: Scope) -> Any:
    """Return `value` with every reference in it resolved against `scope`."""
    if isinstance(value, str):
        return _resolve_string(value, scope)
    if isinstance(value, Mapping):
        return {key: resolve(item, scope) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [resolve(item, scope) for item in value]
    return value
