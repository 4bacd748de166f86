"""Per-tenant caps per node type: parsing, taking, queueing and handing slots over."""

from __future__ import annotations

import asyncio

import pytest

from flowmaestro.executors.fairness import DEFAULT_TENANT_CAP, TenantCaps, TenantSlots


def test_caps_parse_a_default_and_per_type_values() -> None:
    caps = TenantCaps.parse("default=8, llm=4,code=2")
    assert (caps.cap("llm"), caps.cap("code"), caps.cap("echo")) == (4, 2, 8)
    assert TenantCaps.parse("16").cap("http") == 16
    assert TenantCaps.from_env({}).cap("http") == DEFAULT_TENANT_CAP
    assert TenantCaps.parse("http=0").cap("http") == 0  # no cap
    for bad in ("llm=four", "llm=-1"):
        with pytest.raises(ValueError, match="FLOWMAESTRO_TENANT_CONCURRENCY"):
            TenantCaps.parse(bad)


async def test_a_tenant_over_its_cap_queues_while_another_tenant_passes() -> None:
    slots = TenantSlots(TenantCaps(default=2))
    assert slots.try_take("a", "echo") and slots.try_take("a", "echo")
    assert not slots.try_take("a", "echo")
    waiting = asyncio.ensure_future(slots.take("a", "echo"))
    await asyncio.sleep(0)
    assert not waiting.done()
    assert slots.try_take("b", "echo")  # another tenant is not held up
    assert slots.try_take("a", "llm")  # nor another node type of the same tenant
    slots.give_back("a", "echo")
    assert await asyncio.wait_for(waiting, 1) is True
    assert slots.held("a", "echo") == 2  # the slot passed on, the count stayed


async def test_a_full_queue_answers_at_once_and_a_cancelled_waiter_leaves_no_slot() -> None:
    slots = TenantSlots(TenantCaps(default=1), max_waiting=1)
    assert await slots.take("a", "echo")
    first = asyncio.ensure_future(slots.take("a", "echo"))
    await asyncio.sleep(0)
    assert await slots.take("a", "echo") is False  # queue full: the caller defers
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    slots.give_back("a", "echo")
    assert slots.held("a", "echo") == 0
    assert slots.try_take("a", "echo")
