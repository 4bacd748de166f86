"""FlowMaestro scheduler: folds execution logs and dispatches ready nodes.

Names load on first use, so `python -m flowmaestro.scheduler` can set up its process
before anything heavy is imported.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flowmaestro.scheduler.service import Scheduler

__all__ = ["Scheduler"]

_WHERE = {"Scheduler": "flowmaestro.scheduler.service"}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
