"""A node type's name is the same word in the catalogue, the executor table, the schemas
and the command subjects."""

from __future__ import annotations

from pathlib import Path

from flowmaestro.events import CATALOGUE
from flowmaestro.events.names import command_subject, executor_consumer
from flowmaestro.executors import EXECUTORS

ROOT = Path(__file__).resolve().parents[2]


def test_every_executed_type_has_exactly_one_executor() -> None:
    executed = {t for t, spec in CATALOGUE.items() if not spec.composite}
    assert set(EXECUTORS) == executed
    assert {t for t, spec in CATALOGUE.items() if spec.composite} == {"loop", "subworkflow"}


def test_every_type_has_a_schema_a_subject_and_a_consumer() -> None:
    schemas = {p.stem for p in (ROOT / "schemas" / "nodes").glob("*.json")}
    assert schemas == set(CATALOGUE)
    for node_type in CATALOGUE:
        assert command_subject(node_type) == f"fm.cmd.{node_type}"
        assert executor_consumer(node_type) == f"exec-{node_type}"


def test_the_catalogue_is_complete_and_described() -> None:
    assert len(CATALOGUE) >= 25
    for spec in CATALOGUE.values():
        assert spec.description and spec.name and spec.category and spec.outputs
