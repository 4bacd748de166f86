"""The new node families are catalogued, executable, and check their configs."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from flowmaestro.events import CATALOGUE
from flowmaestro.executors import EXECUTORS

NEW_TYPES = {"code", "merge", "http", "database", "file", "slack", "notion", "email", "webhook"}


def test_every_catalogued_type_has_an_executor() -> None:
    assert set(CATALOGUE) >= NEW_TYPES
    executed = {name for name, spec in CATALOGUE.items() if not spec.composite}
    assert executed == set(EXECUTORS)


def test_new_types_document_themselves() -> None:
    for node_type in NEW_TYPES:
        spec = CATALOGUE[node_type]
        assert spec.description and spec.outputs and spec.config.__doc__


@pytest.mark.parametrize(
    ("node_type", "data", "field"),
    [
        ("code", {"code": "return 1", "time_limit_seconds": 0}, "time_limit_seconds"),
        ("code", {"code": "return 1", "memory_limit_mb": 1}, "memory_limit_mb"),
        ("http", {"url": "https://x", "method": "get"}, "method"),
        ("database", {"integration_id": "i", "query": "select 1", "max_rows": 0}, "max_rows"),
        ("file", {"file_id": "a", "url": "https://x"}, "url"),
        ("file", {"content": "a", "delimiter": ";;"}, "delimiter"),
        ("notion", {"integration_id": "i", "operation": "query_database"}, "database_id"),
        ("email", {"integration_id": "i", "to": ["a@b"], "subject": "s"}, "text"),
        ("email", {"integration_id": "i", "to": [], "subject": "s", "text": "t"}, "to"),
    ],
)
def test_checks_report_bad_configs(node_type: str, data: dict[str, Any], field: str) -> None:
    problems = CATALOGUE[node_type].checks(data)
    assert [f for f, _ in problems] == [field]


@pytest.mark.parametrize(
    ("node_type", "data"),
    [
        ("code", {"language": "python", "code": "return input"}),
        ("merge", {"mode": "any", "strategy": "deep"}),
        ("http", {"url": "https://example.com", "method": "POST", "body": {"a": 1}}),
        ("database", {"integration_id": "pg", "query": "select %s", "params": [1]}),
        ("file", {"format": "csv", "content": "a,b\n1,2\n"}),
        ("slack", {"integration_id": "s", "channel": "C1", "text": "hi"}),
        ("notion", {"integration_id": "n", "operation": "create_page", "database_id": "d"}),
        ("email", {"integration_id": "m", "to": ["a@example.com"], "subject": "s", "html": "x"}),
        ("webhook", {"integration_id": "w", "url": "https://example.com/hook"}),
    ],
)
def test_good_configs_convert_and_pass_checks(node_type: str, data: dict[str, Any]) -> None:
    spec = CATALOGUE[node_type]
    msgspec.convert(data, spec.config)
    assert spec.checks(data) == []


def test_only_an_any_merge_joins_any() -> None:
    assert CATALOGUE["merge"].join_mode({"mode": "any"}) == "any"
    assert CATALOGUE["merge"].join_mode({}) == "all"
    assert CATALOGUE["echo"].join_mode({"mode": "any"}) == "all"
