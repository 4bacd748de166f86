"""Operator settings of the sandboxes and worker pools, read from the environment.

Every setting has a default and a range; a value outside its range is refused when the
setting is first read, naming the variable, so a typo cannot lift a limit silently.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

__all__ = ["WORKER_SETTINGS", "Setting"]


@dataclass(frozen=True, slots=True)
class Setting:
    """One numeric environment variable with its default and allowed range."""

    name: str
    default: float
    minimum: float
    maximum: float

    def read(self) -> float:
        """The configured value, or the default; raises `ValueError` outside the range."""
        raw = os.environ.get(self.name, "").strip()
        if not raw:
            return self.default
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(f"{self.name} must be a number, not {raw!r}") from None
        if not self.minimum <= value <= self.maximum:
            raise ValueError(f"{self.name} must be in [{self.minimum:g}, {self.maximum:g}]")
        return value

    def read_int(self) -> int:
        """The configured value as a whole number."""
        return int(self.read())


JS_WORKERS = Setting("FLOWMAESTRO_JS_WORKERS", 4, 1, 64)
EXPRESSION_WORKERS = Setting("FLOWMAESTRO_EXPRESSION_WORKERS", 2, 1, 64)
DOCUMENT_WORKERS = Setting("FLOWMAESTRO_DOCUMENT_WORKERS", 2, 1, 64)
PYTHON_SLOTS = Setting("FLOWMAESTRO_PYTHON_SLOTS", 4, 1, 256)
TENANT_SHARE = Setting("FLOWMAESTRO_WORKER_TENANT_SHARE", 0.5, 0.01, 1)
QUEUE = Setting("FLOWMAESTRO_WORKER_QUEUE", 1000, 1, 100_000)
EXPRESSION_MEMORY_MB = Setting("FLOWMAESTRO_EXPRESSION_MEMORY_MB", 256, 32, 4096)
DOCUMENT_TIMEOUT_S = Setting("FLOWMAESTRO_DOCUMENT_TIMEOUT_S", 20, 1, 600)
DOCUMENT_MEMORY_MB = Setting("FLOWMAESTRO_DOCUMENT_MEMORY_MB", 512, 64, 16_384)
PDF_MAX_PAGES = Setting("FLOWMAESTRO_PDF_MAX_PAGES", 2000, 1, 100_000)
PDF_MAX_OBJECTS = Setting("FLOWMAESTRO_PDF_MAX_OBJECTS", 200_000, 10, 10_000_000)
XML_MAX_ELEMENTS = Setting("FLOWMAESTRO_XML_MAX_ELEMENTS", 200_000, 1, 10_000_000)
XML_MAX_DEPTH = Setting("FLOWMAESTRO_XML_MAX_DEPTH", 100, 1, 10_000)
CODE_MAX_OUTPUT_BYTES = Setting("FLOWMAESTRO_CODE_MAX_OUTPUT_BYTES", 16 * 2**20, 2**16, 2**28)

WORKER_SETTINGS = (
    JS_WORKERS,
    EXPRESSION_WORKERS,
    DOCUMENT_WORKERS,
    PYTHON_SLOTS,
    TENANT_SHARE,
    QUEUE,
    EXPRESSION_MEMORY_MB,
    DOCUMENT_TIMEOUT_S,
    DOCUMENT_MEMORY_MB,
    PDF_MAX_PAGES,
    PDF_MAX_OBJECTS,
    XML_MAX_ELEMENTS,
    XML_MAX_DEPTH,
    CODE_MAX_OUTPUT_BYTES,
)
"""Every setting above, for documentation checks."""


def per_tenant(capacity: int) -> int:
    """How many of `capacity` slots one tenant may hold (at least one)."""
    return max(1, int(capacity * TENANT_SHARE.read()))
