"""The `slugify` node type: its catalogue entry.

This module imports only `flowmaestro.events`: the gateway and the scheduler load it to
validate and schedule `slugify` nodes; only executor processes import `executor`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flowmaestro.events.catalogue import NodeConfig, NodePlugin, NodeSpec

__all__ = ["MAX_LENGTH", "PLUGIN", "SlugifyConfig"]

MAX_LENGTH = 200


class SlugifyConfig(NodeConfig, frozen=True, kw_only=True):
    """`slugify`: `text` as a URL-safe slug.

    Accents are dropped (é → e), every run of other characters becomes one `separator`,
    and the slug is cut at a word boundary to at most `max_length` characters.
    """

    text: str
    separator: str = "-"
    max_length: int = 80
    lowercase: bool = True


def _problems(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    separator = data.get("separator", "-")
    if isinstance(separator, str) and separator not in ("-", "_", "."):
        problems.append(("separator", "must be '-', '_' or '.'"))
    length = data.get("max_length")
    if isinstance(length, int) and not 1 <= length <= MAX_LENGTH:
        problems.append(("max_length", f"must be in [1, {MAX_LENGTH}]"))
    return problems


PLUGIN = NodePlugin(
    spec=NodeSpec(
        "slugify",
        "Slugify",
        "data",
        "Turns text into a URL-safe slug (ASCII, one separator between words).",
        SlugifyConfig,
        "{slug}: the slug",
        checks=_problems,
    ),
    executor="flowmaestro_plugin_slugify.executor:run_slugify",
)
