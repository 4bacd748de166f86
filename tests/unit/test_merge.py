"""`merge` combines upstream outputs by node id, as an array, or deep-merged."""

from __future__ import annotations

from typing import Any

import pytest

from flowmaestro.executors.nodes.merge import deep_merge


def test_deep_merge_recurses_into_objects_and_later_wins() -> None:
    base = {"a": {"x": 1, "y": [1]}, "b": 1}
    other = {"a": {"y": [2], "z": 3}, "c": 4}
    assert deep_merge(base, other) == {"a": {"x": 1, "y": [2], "z": 3}, "b": 1, "c": 4}
    assert base == {"a": {"x": 1, "y": [1]}, "b": 1}


@pytest.mark.parametrize(("base", "other"), [({"a": 1}, 5), (5, {"a": 1}), ([1], [2])])
def test_deep_merge_replaces_non_objects(base: Any, other: Any) -> None:
    assert deep_merge(base, other) == other
