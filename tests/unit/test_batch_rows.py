"""Batch rows from CSV text and JSON: values coerced by the declared input types, and every
problem naming its row (from 1) and field; the operator's batch maxima from the
environment; a row's execution id made from the batch id and row."""

from __future__ import annotations

import pytest

from flowmaestro.events import parse_definition
from flowmaestro.events.batches import BatchInputError, check_rows, coerce_cell, parse_csv
from flowmaestro.events.limits import BatchLimits
from flowmaestro.events.names import batch_execution_id, is_valid_token
from flowmaestro.runtime.config import batch_limits_from_env

DEFINITION = parse_definition(
    {
        "nodes": {
            "in": {
                "id": "in",
                "type": "input",
                "data": {
                    "schema": {
                        "n": {"type": "integer", "required": True},
                        "x": {"type": "number"},
                        "ok": {"type": "boolean", "default": False},
                        "tags": {"type": "array"},
                        "meta": {"type": "object"},
                        "name": {"type": "string"},
                    }
                },
            }
        },
        "edges": [],
    }
)


def problems(text: str, max_rows: int = 100) -> list[tuple[str | None, str]]:
    with pytest.raises(BatchInputError) as caught:
        parse_csv(text, DEFINITION, max_rows)
    return [(p.field, p.code) for p in caught.value.problems]


def test_cells_are_coerced_by_declared_type() -> None:
    text = 'n,x,ok,tags,meta,name,extra\n1,2.5,yes,"[1,2]","{""a"": 1}", 007 ,free\n2,3,0,,,,\n'
    header, rows = parse_csv(text, DEFINITION, 10)
    assert header == ["n", "x", "ok", "tags", "meta", "name", "extra"]
    assert rows[0] == {
        "n": 1,
        "x": 2.5,
        "ok": True,
        "tags": [1, 2],
        "meta": {"a": 1},
        "name": " 007 ",
        "extra": "free",
    }
    assert rows[1] == {"n": 2, "x": 3, "ok": False}  # empty cells are absent; defaults apply
    assert coerce_cell("integer", "4.0") == 4
    assert coerce_cell("boolean", "No") is False
    with pytest.raises(ValueError, match="not a valid integer"):
        coerce_cell("integer", "true")
    with pytest.raises(ValueError, match="not a valid number"):
        coerce_cell("number", '"3"')


def test_bad_rows_are_named_by_number_and_field() -> None:
    found = problems("n,ok,tags\n1,yes,[]\nx,maybe,[]\n3,no,{}\n,no,[]\n")
    assert found == [
        ("rows[2].n", "invalid"),
        ("rows[2].ok", "invalid"),
        ("rows[3].tags", "invalid"),
        ("rows[4].n", "required"),
    ]


def test_malformed_and_hostile_csv_is_refused() -> None:
    assert problems("") == [("csv", "no_header")]
    assert problems('n\n"1\n') == [("csv", "malformed")]
    assert problems("n,n\n1,1\n") == [("csv.header", "duplicate")]
    assert problems("n,\n1,2\n") == [("csv.header", "no_name")]
    assert problems("n,ok\n1\n") == [("rows[1]", "cell_count")]
    assert problems("n\n" + "1\n" * 6, max_rows=5) == [("csv", "too_many_rows")]
    assert problems("n\n" + "x\n" * 500, max_rows=1000)[-1] == (
        "rows[50].n",
        "invalid",
    )  # at most 50
    _, rows = parse_csv("n\n1\n\n2\n", DEFINITION, 5)  # blank lines are skipped
    assert [r["n"] for r in rows] == [1, 2]


def test_json_rows_are_checked_like_csv_rows() -> None:
    assert check_rows(DEFINITION, [{"n": 1}])[0] == {"n": 1, "ok": False}
    with pytest.raises(BatchInputError) as caught:
        check_rows(DEFINITION, [{"n": 1}, {"n": "1"}, {}])
    assert [(p.field, p.code) for p in caught.value.problems] == [
        ("rows[2].n", "type"),
        ("rows[3].n", "required"),
    ]


def test_row_execution_ids_are_deterministic_tokens() -> None:
    assert batch_execution_id("01abc", 0) == batch_execution_id("01abc", 0) == "01abc-r0"
    assert batch_execution_id("01abc", 12) != batch_execution_id("01abc", 1)
    assert is_valid_token(batch_execution_id("01abc", 99_999))
    with pytest.raises(ValueError):
        batch_execution_id("a.b", 1)


def test_batch_maxima_come_from_the_environment() -> None:
    assert batch_limits_from_env({}) == BatchLimits()
    limits = batch_limits_from_env(
        {"FLOWMAESTRO_MAX_BATCH_CONCURRENCY": "7", "FLOWMAESTRO_MAX_BATCH_ROWS": " 50 "}
    )
    assert (limits.concurrency, limits.rows) == (7, 50)
    with pytest.raises(ValueError, match="FLOWMAESTRO_MAX_BATCH_"):
        batch_limits_from_env({"FLOWMAESTRO_MAX_BATCH_CONCURRENCY": "5000"})
    with pytest.raises(ValueError, match="FLOWMAESTRO_MAX_BATCH_"):
        batch_limits_from_env({"FLOWMAESTRO_MAX_BATCH_ROWS": "0"})
