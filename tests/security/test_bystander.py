"""The bystander harness itself: a benign run of another tenant completes."""

from __future__ import annotations

import httpx

from tests.support.gateway import User
from tests.support.runs import bystander


async def test_a_bystander_completes_while_nothing_happens(
    client: httpx.AsyncClient, alice: User
) -> None:
    async with bystander(client, alice) as watcher:
        await watcher.run_once()
    assert watcher.durations and max(watcher.durations) < 10
