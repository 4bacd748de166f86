"""The one explicit table of executors, keyed by node type (the catalogue's names).

Built-in executors are listed below; installed node plugins add theirs (checked by
`flowmaestro.executors.plugins`) under the type names the catalogue gives them.
"""

from __future__ import annotations

from flowmaestro.events.catalogue import PLUGINS
from flowmaestro.executors.context import Executor
from flowmaestro.executors.nodes import (
    ai,
    code,
    core,
    database,
    email,
    file,
    http,
    merge,
    notion,
    slack,
    webhook,
)
from flowmaestro.executors.plugins import load_executors

__all__ = ["BUILTIN_EXECUTORS", "EXECUTORS"]

BUILTIN_EXECUTORS: dict[str, Executor] = {
    "input": core.run_input,
    "output": core.run_output,
    "echo": core.run_echo,
    "transform": core.run_transform,
    "conditional": core.run_conditional,
    "switch": core.run_switch,
    "variable": core.run_variable,
    "wait": core.run_wait,
    "user_input": core.run_user_input,
    "llm": ai.run_llm,
    "agent": ai.run_agent,
    "embeddings": ai.run_embeddings,
    "semantic_search": ai.run_semantic_search,
    "vision": ai.run_vision,
    "audio": ai.run_audio,
    "code": code.run_code,
    "merge": merge.run_merge,
    "http": http.run_http,
    "slack": slack.run_slack,
    "notion": notion.run_notion,
    "webhook": webhook.run_webhook,
    "database": database.run_database,
    "file": file.run_file,
    "email": email.run_email,
}

EXECUTORS: dict[str, Executor] = {**BUILTIN_EXECUTORS, **load_executors(PLUGINS)}
"""Every executor this process can run: the built-in ones and the plugins'."""
