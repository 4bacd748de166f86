"""Reference parsing and resolution, by example."""

from __future__ import annotations

import pytest

from flowmaestro.events import ReferenceResolutionError
from flowmaestro.events.names import CONCAT_KEY, OUTPUT_PATH_KEY, OUTPUT_REF_KEY
from flowmaestro.events.references import (
    Scope,
    StoredOutput,
    find_references,
    parse_reference,
    resolve,
)

SCOPE = Scope(
    inputs={"message": "hi", "n": 3},
    vars={"total": 7.5},
    outputs={"node-2": {"items": [{"name": "ada"}], "ok": True}, "b": None},
    skipped=frozenset({"gone"}),
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${inputs.message}", "hi"),
        ("${inputs.n}", 3),
        ("${vars.total}", 7.5),
        ("${inputs}", {"message": "hi", "n": 3}),
        ("${node-2.output}", {"items": [{"name": "ada"}], "ok": True}),
        ("${node-2.output.items[0].name}", "ada"),
        ('${node-2.output["ok"]}', True),
        ("${b.output}", None),
        ("${gone.output}", None),
        ("n=${inputs.n}, ok=${node-2.output.ok}", "n=3, ok=true"),
        ("${node-2.output.items}!", '[{"name":"ada"}]!'),
        ("cost $${inputs.n}", "cost ${inputs.n}"),
        ("no references", "no references"),
    ],
)
def test_resolve(text: str, expected: object) -> None:
    assert resolve(text, SCOPE) == expected


@pytest.mark.parametrize(
    "text",
    [
        "${inputs.missing}",
        "${node-2.output.items[3]}",
        "${node-2.output.nope}",
        "${unknown.output}",
        "${node-2}",
        "${bad ref}",
        "${node-2.output.items.name}",
    ],
)
def test_unknown_or_malformed_references_raise(text: str) -> None:
    with pytest.raises(ReferenceResolutionError):
        resolve({"k": text}, SCOPE)


def test_find_references_walks_nested_values() -> None:
    refs = find_references({"a": ["${x.output.y}", {"b": "${inputs.q} ${vars.r}"}], "c": 1})
    assert [(r.root, r.path) for r in refs] == [("x", ("y",)), ("inputs", ("q",)), ("vars", ("r",))]
    assert parse_reference("node-2.output.items[0]").node_id == "node-2"


def test_a_stored_output_resolves_to_a_marker_never_to_its_value() -> None:
    scope = Scope(inputs={}, vars={}, outputs={"big": StoredOutput("run/big/1")})
    assert resolve("${big.output}", scope) == {OUTPUT_REF_KEY: "run/big/1"}
    assert resolve("${big.output.items[0].name}", scope) == {
        OUTPUT_REF_KEY: "run/big/1",
        OUTPUT_PATH_KEY: ["items", 0, "name"],
    }
    assert resolve({"list": ["${big.output}"]}, scope) == {"list": [{OUTPUT_REF_KEY: "run/big/1"}]}
    assert resolve("size: ${big.output.n} $${x}", scope) == {
        CONCAT_KEY: [
            "size: ",
            {OUTPUT_REF_KEY: "run/big/1", OUTPUT_PATH_KEY: ["n"]},
            " ",
            "${",
            "x}",
        ]
    }
    assert StoredOutput.from_marker({OUTPUT_REF_KEY: "r", OUTPUT_PATH_KEY: ["a", 1]}) == (
        StoredOutput("r", ("a", 1))
    )
    assert StoredOutput.from_marker({OUTPUT_REF_KEY: "r", "other": 1}) is None
    assert StoredOutput.from_marker({OUTPUT_REF_KEY: "r", OUTPUT_PATH_KEY: [1.5]}) is None
