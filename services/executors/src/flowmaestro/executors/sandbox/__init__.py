"""Sandboxes for user code: a V8 isolate for JavaScript, a jailed process for Python."""

from flowmaestro.executors.sandbox.javascript import run_javascript
from flowmaestro.executors.sandbox.limits import Limits, SandboxError, SandboxResult
from flowmaestro.executors.sandbox.python import isolation_available, run_python

__all__ = [
    "Limits",
    "SandboxError",
    "SandboxResult",
    "isolation_available",
    "run_javascript",
    "run_python",
]
