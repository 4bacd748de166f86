"""Every example opens on the canvas laid out left to right, no card over another."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any

import pytest

from flowmaestro.events import parse_definition

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.json"))


def _card_size() -> tuple[int, int]:
    """The card size the canvas lays nodes out with, read from the UI so the two agree."""
    source = (ROOT / "ui" / "src" / "lib" / "layout.ts").read_text()
    width = re.search(r"const WIDTH = (\d+);", source)
    height = re.search(r"const HEIGHT = (\d+);", source)
    assert width and height, "ui/src/lib/layout.ts no longer names WIDTH and HEIGHT"
    return int(width.group(1)), int(height.group(1))


def _graphs(definition: dict[str, Any]) -> list[dict[str, Any]]:
    """The definition and every loop body inside it: each is a canvas of its own."""
    graphs = [definition]
    for node in definition["nodes"].values():
        body = node.get("data", {}).get("body")
        if isinstance(body, dict):
            graphs.extend(_graphs(body))
    return graphs


def test_there_are_examples() -> None:
    assert len(EXAMPLES) >= 10


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.stem)
def test_example_is_laid_out_left_to_right_without_overlap(path: Path) -> None:
    width, height = _card_size()
    raw = json.loads(path.read_text())
    parse_definition(path.read_bytes())  # still a valid definition
    for graph in _graphs(raw):
        nodes = graph["nodes"]
        for node_id, node in nodes.items():
            assert "position" in node, f"{path.name}: node {node_id!r} has no position"
        boxes = {nid: (n["position"]["x"], n["position"]["y"]) for nid, n in nodes.items()}
        for (a, (ax, ay)), (b, (bx, by)) in itertools.combinations(boxes.items(), 2):
            overlap = abs(ax - bx) < width and abs(ay - by) < height
            assert not overlap, f"{path.name}: nodes {a!r} and {b!r} overlap"
        for edge in graph["edges"]:
            source, target = boxes[edge["source"]], boxes[edge["target"]]
            assert source[0] + width <= target[0], (
                f"{path.name}: edge {edge['id']} does not run left to right"
            )
