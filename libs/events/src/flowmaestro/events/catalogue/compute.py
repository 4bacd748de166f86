"""Compute node types: sandboxed `code` and the `merge` join."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import msgspec

from flowmaestro.events.catalogue.base import JoinMode, NodeConfig, NodeSpec

__all__ = ["SPECS", "CodeConfig", "MergeConfig"]

MAX_CODE_SECONDS = 60.0
MAX_CODE_MEMORY_MB = 2048


class CodeConfig(NodeConfig, frozen=True, kw_only=True):
    """`code`: runs `code` as the body of a function of `input` and outputs what it returns.

    JavaScript runs in a V8 isolate in a worker process, Python in a separate sandboxed
    process; both get `input` as JSON, must return JSON, have no network and no host
    files, and are stopped at `time_limit_seconds` of wall time and `memory_limit_mb` of
    memory (all of the process's memory, not only the JavaScript heap). `webassembly`
    lets JavaScript use `WebAssembly` (off by default).
    """

    language: Literal["javascript", "python"] = "javascript"
    code: str
    input: Any = msgspec.UNSET
    time_limit_seconds: float = 5.0
    memory_limit_mb: int = 128
    webassembly: bool = False


class MergeConfig(NodeConfig, frozen=True, kw_only=True):
    """`merge`: waits for `all` its inputs (or runs on the first, `any`) and combines them.

    `strategy`: `object` (outputs by node id), `array` (outputs in edge order) or `deep`
    (object outputs deep-merged, later edges winning).
    """

    mode: Literal["all", "any"] = "all"
    strategy: Literal["object", "array", "deep"] = "object"


def _code_problems(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    seconds = data.get("time_limit_seconds")
    if isinstance(seconds, int | float) and not 0 < seconds <= MAX_CODE_SECONDS:
        problems.append(("time_limit_seconds", f"must be in (0, {MAX_CODE_SECONDS:g}]"))
    memory = data.get("memory_limit_mb")
    if isinstance(memory, int) and not 16 <= memory <= MAX_CODE_MEMORY_MB:
        problems.append(("memory_limit_mb", f"must be in [16, {MAX_CODE_MEMORY_MB}]"))
    return problems


def merge_joins(data: Mapping[str, Any]) -> JoinMode:
    """`any` when the merge node is configured to run on its first input, else `all`."""
    return "any" if data.get("mode") == "any" else "all"


SPECS: tuple[NodeSpec, ...] = (
    NodeSpec(
        "code",
        "Code",
        "code",
        "Runs JavaScript (V8 isolate) or Python (sandboxed process) over JSON input, "
        "with time and memory limits, no network and no host files.",
        CodeConfig,
        "what the code returns (JSON)",
        code_fields={"code": "input"},
        checks=_code_problems,
    ),
    NodeSpec(
        "merge",
        "Merge",
        "logic",
        "Waits for all (or the first of) its inputs and combines them.",
        MergeConfig,
        "upstream outputs by node id, as an array, or deep-merged",
        joins=merge_joins,
    ),
)
