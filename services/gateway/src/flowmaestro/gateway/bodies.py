"""JSON request bodies are checked strictly against the handler's body type.

Litestar converts bodies leniently (`0` becomes `false`, `"1"` becomes `1`), which the
OpenAPI document does not promise; clients and generated SDKs trust the document, so a
body that does not match it is refused with a 400 naming the field. One leniency is JSON
Schema's own: a number with a zero fraction (`3.0`) is an integer.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.exceptions import ValidationException
from litestar.params import BodyKwarg

__all__ = ["strict_json_body"]

_AT = re.compile(r" - at `\$(?P<path>[^`]*)`$")
_STEP = re.compile(r"\.(?P<name>[A-Za-z_][A-Za-z0-9_]*)|\[(?P<index>\d+)\]")
_MAX_FIXES = 32


def _integral_float_at(value: Any, path: str) -> tuple[Any, Any] | None:
    """The container and key holding an integral float at `path`, or None."""
    parent: Any = None
    key: Any = None
    position = 0
    while position < len(path):
        step = _STEP.match(path, position)
        if step is None:
            return None  # a dict key (`[...]`): not a place an integer is expected
        parent = value
        key = step.group("name") if step.group("name") is not None else int(step.group("index"))
        try:
            value = parent[key]
        except (KeyError, IndexError, TypeError):
            return None
        position = step.end()
    if parent is None or not isinstance(value, float) or not value.is_integer():
        return None
    return parent, key


def _decode(body: bytes, annotation: Any) -> None:
    """Decode strictly, accepting integral floats where integers are expected."""
    document: Any = None
    for _ in range(_MAX_FIXES):
        try:
            if document is None:
                msgspec.json.decode(body, type=annotation)
            else:
                msgspec.convert(document, annotation, strict=True)
            return
        except msgspec.ValidationError as exc:
            path, _ = _field(str(exc))
            if document is None:
                document = msgspec.json.decode(body)
            place = _integral_float_at(document, f".{path}" if path else "")
            if place is None:
                raise
            container, key = place
            container[key] = int(container[key])
    msgspec.convert(document, annotation, strict=True)


def _field(message: str) -> tuple[str | None, str]:
    """The dotted field a msgspec error names (without `$.`), and the message without it."""
    found = _AT.search(message)
    if found is None:
        return None, message
    path = found.group("path").lstrip(".") or None
    return path, message[: found.start()]


async def strict_json_body(request: Request[Any, Any, Any]) -> None:
    """Before the handler: decode a JSON body strictly as the handler's `data` type."""
    field = request.route_handler.parsed_fn_signature.parameters.get("data")
    if field is None:
        return
    kwarg = field.kwarg_definition
    if isinstance(kwarg, BodyKwarg) and kwarg.media_type != RequestEncodingType.JSON:
        return
    body = await request.body()
    if not body.strip():
        return  # a missing body is Litestar's to report (or allowed when optional)
    try:
        _decode(body, field.annotation)
    except msgspec.ValidationError as exc:
        key, message = _field(str(exc))
        raise ValidationException(
            detail=f"Validation failed for {request.method} {request.url.path}",
            extra=[{"key": key or "data", "source": "body", "message": message}],
        ) from exc
    except msgspec.DecodeError:
        return  # malformed JSON: Litestar answers it as a bad request
