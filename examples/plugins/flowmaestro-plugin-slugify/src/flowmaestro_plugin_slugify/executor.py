"""Executor of `slugify`: pure text work, so it needs nothing from its context."""

from __future__ import annotations

import re
import unicodedata

from flowmaestro.executors import NodeContext, NodeResult, TerminalNodeError
from flowmaestro_plugin_slugify import SlugifyConfig

__all__ = ["run_slugify", "slugify"]

_OTHER = re.compile(r"[^A-Za-z0-9]+")


def slugify(text: str, separator: str = "-", max_length: int = 80, lowercase: bool = True) -> str:
    """`text` without accents, each run of other characters one `separator`, cut at a
    word boundary to at most `max_length` characters."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = [w for w in _OTHER.split(ascii_text) if w]
    slug = ""
    for word in words:
        longer = f"{slug}{separator}{word}" if slug else word
        if len(longer) > max_length:
            slug = slug or word[:max_length]
            break
        slug = longer
    return slug.lower() if lowercase else slug


async def run_slugify(ctx: NodeContext, config: SlugifyConfig) -> NodeResult:
    """The slug of `config.text`; fails (terminally) when nothing of it is left."""
    del ctx  # a pure node: no integrations, files or network
    slug = slugify(config.text, config.separator, config.max_length, config.lowercase)
    if not slug:
        raise TerminalNodeError("the text has no letters or digits to make a slug of")
    return NodeResult(output={"slug": slug})
