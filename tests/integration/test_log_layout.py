"""An execution's log is one subtree: events the scheduler folds, and its dispatch records."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest
from nats.aio.client import Client

from flowmaestro.events import ExecutionStarted, NodeCompleted, NodeScheduled, encode
from flowmaestro.events.names import (
    EXEC_STREAM,
    SCHEDULER_GROUP,
    SCHEDULER_PARTITIONS,
    exec_subject,
    log_subjects,
    outcome_subject,
    partition_filters,
    record_subject,
    scheduler_partition,
)
from flowmaestro.runtime import AppendConflictError, ExecutionLog, new_execution_id
from tests.support.engine import load_example, run

pytestmark = pytest.mark.integration


async def test_dispatch_records_are_in_the_log_but_not_fed_back_to_the_scheduler(
    engine: Client,
) -> None:
    orders = [{"name": "a", "price": 5}, {"name": "b", "price": 20}]
    state, records = await run(engine, load_example("transform-chain"), {"orders": orders})
    scheduled = [e for _, e in records if isinstance(e, NodeScheduled)]
    completed = [e for _, e in records if isinstance(e, NodeCompleted)]
    assert {e.node_id for e in scheduled} == {e.node_id for e in completed} == set(state.nodes)
    outcomes = len(completed)

    js = engine.jetstream()
    info = await js.stream_info(EXEC_STREAM, subjects_filter=log_subjects(state.execution_id))
    counts = info.state.subjects or {}
    # stored under the execution's partition: one more token, the same for the whole log
    partitions = {subject.rsplit(".", 1)[1] for subject in counts}
    assert len(partitions) == 1
    partition = int(partitions.pop())
    assert 0 <= partition < SCHEDULER_PARTITIONS
    assert counts == {
        f"{exec_subject(state.execution_id)}.{partition}": (
            len(records) - len(scheduled) - outcomes
        ),
        f"{outcome_subject(state.execution_id)}.{partition}": outcomes,
        f"{record_subject(state.execution_id)}.{partition}": len(scheduled),
    }
    consumer = await js.consumer_info(EXEC_STREAM, scheduler_partition(partition))
    assert consumer.config.filter_subjects == partition_filters(partition)
    raw = await engine.request(
        f"$JS.API.CONSUMER.INFO.{EXEC_STREAM}.{scheduler_partition(partition)}", b""
    )
    config = msgspec.json.decode(raw.data)["config"]
    assert config["priority_groups"] == [SCHEDULER_GROUP]
    assert config["priority_policy"] == "pinned_client"


async def test_a_start_is_refused_when_any_part_of_the_log_exists(nc: Client) -> None:
    execution_id = new_execution_id()
    record = NodeScheduled(node_id="n", attempt=1, scheduled_at=datetime.now(UTC), input_hash="")
    await nc.jetstream().publish(record_subject(execution_id), encode(record))
    started = ExecutionStarted(
        execution_id=execution_id,
        definition=load_example("transform-chain"),
        started_at=datetime.now(UTC),
    )
    with pytest.raises(AppendConflictError):
        await ExecutionLog(nc).start(started)


async def test_a_retried_start_is_recognised_and_another_start_of_the_same_id_refused(
    nc: Client,
) -> None:
    log = ExecutionLog(nc)
    started = ExecutionStarted(
        execution_id=new_execution_id(),
        definition=load_example("transform-chain"),
        started_at=datetime.now(UTC),
    )
    first = await log.start(started)
    assert await log.start(started) == first
    with pytest.raises(AppendConflictError):
        await log.start(msgspec.structs.replace(started, inputs={"orders": []}))
