"""NATS is locked: a server with one identity per component, as `flowmaestro up` runs it.

Refused: a client without (or with wrong) credentials; an executor starting an execution,
publishing a command, appending a forged event to an execution's event subject, arming a
timer or reading a log beyond the outcome subjects; the gateway publishing commands, trigger
fires or tenants' events; any identity but the scheduler's reading or writing snapshots of
folded states. A
forged execution start on the executors' own subject is never folded. Meanwhile workflows
(a transform chain, a durable wait, an agent calling a tool workflow) run to their end
with every component under its own identity.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest
from nats.aio.client import Client
from nats.js.api import ConsumerConfig

from flowmaestro.events import (
    CATALOGUE,
    ExecutionStarted,
    ExecutionStatus,
    NodeCompleted,
    ParentRef,
    encode,
    parse_definition,
)
from flowmaestro.events.names import (
    EVENT_STREAM,
    EXEC_STREAM,
    PROJECTOR_CONSUMER,
    TRIGGER_STREAM,
    command_subject,
    exec_subject,
    log_subjects,
    outcome_subject,
    stored_event_subject,
    tenant_event_consumer,
    tenant_event_filter,
    tenant_event_subject,
    timer_subject,
    trigger_fire_consumer,
    trigger_fire_subject,
    trigger_schedule_subject,
)
from flowmaestro.executors.egress import ALLOW_ENV
from flowmaestro.gateway.triggers.consumers import ensure_trigger_consumers
from flowmaestro.gateway.triggers.schedules import arm, disarm
from flowmaestro.runtime import EmbeddedNats, ExecutionLog, connect, ensure_topology
from flowmaestro.runtime.connection import NatsUnreachableError
from flowmaestro.runtime.ids import new_execution_id
from flowmaestro.runtime.natsauth import (
    credentials_file,
    load_or_create_credentials,
    server_authorization,
)
from flowmaestro.runtime.snapshots import JetStreamSnapshotStore
from tests.fakes.base import Reply
from tests.fakes.openai_server import FakeOpenAI
from tests.support.engine import load_example, run, running_engine, wait_for_end

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def locked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EmbeddedNats, dict]]:
    """A nats-server with the stack's identities and permissions."""
    home = tmp_path_factory.mktemp("locked")
    passwords = load_or_create_credentials(home)
    server = EmbeddedNats(home / "nats", authorization=server_authorization(passwords)).start()
    yield server, passwords
    server.stop()


@contextlib.asynccontextmanager
async def as_identity(
    server: EmbeddedNats, passwords: dict[str, str], user: str
) -> AsyncIterator[Client]:
    nc = await connect(server.url, name=f"test-{user}", credentials=(user, passwords[user]))
    try:
        yield nc
    finally:
        await nc.close()


@pytest.fixture(scope="module")
async def operator(locked: tuple[EmbeddedNats, dict]) -> AsyncIterator[Client]:
    """The operator's connection, with the topology in place, and the engine running with
    the scheduler's and the executors' identities."""
    server, passwords = locked
    async with as_identity(server, passwords, "cli") as nc:
        await ensure_topology(nc.jetstream(), CATALOGUE)
        async with running_engine(server.url, passwords):
            yield nc


def _started(execution_id: str, parent: ParentRef | None = None) -> ExecutionStarted:
    return ExecutionStarted(
        execution_id=execution_id,
        definition=load_example("transform-chain"),
        inputs={"orders": [{"name": "a", "price": 5}]},
        started_at=datetime.now(UTC),
        parent=parent,
    )


def test_credentials_are_kept_private(locked: tuple[EmbeddedNats, dict]) -> None:
    server, _ = locked
    home = server.store_dir.parent
    assert credentials_file(home).stat().st_mode & 0o777 == 0o600
    assert (server.store_dir / "nats-server.conf").stat().st_mode & 0o777 == 0o600


async def test_a_client_without_credentials_is_refused(
    locked: tuple[EmbeddedNats, dict],
) -> None:
    server, _ = locked
    with pytest.raises(NatsUnreachableError):
        await connect(server.url, name="anonymous", persistent=False)
    with pytest.raises(NatsUnreachableError):
        await connect(server.url, persistent=False, credentials=("executors", "wrong"))


async def test_an_executor_cannot_start_an_execution_or_command_a_node(
    locked: tuple[EmbeddedNats, dict], operator: Client
) -> None:
    server, passwords = locked
    execution_id = new_execution_id()
    async with as_identity(server, passwords, "executors") as nc:
        # the start is dropped by the server: no acknowledgement ever comes
        with pytest.raises((TimeoutError, Exception)):
            await asyncio.wait_for(ExecutionLog(nc).start(_started(execution_id)), 2)
        js = nc.jetstream()
        for subject in (
            exec_subject(execution_id),
            command_subject("echo"),
            timer_subject(execution_id, "t"),
        ):
            with pytest.raises(Exception):  # noqa: B017 - the publish is never acknowledged
                await js.publish(subject, encode(_started(execution_id)), timeout=1)
    assert await ExecutionLog(operator).read_raw(execution_id) == []


async def test_only_the_scheduler_reads_and_writes_snapshots(
    locked: tuple[EmbeddedNats, dict], operator: Client
) -> None:
    server, passwords = locked
    execution_id = new_execution_id()
    async with as_identity(server, passwords, "scheduler") as nc:
        store = JetStreamSnapshotStore(nc)
        await store.put(execution_id, b"state")
        assert await store.get(execution_id) == b"state"
    for user in ("executors", "gateway"):  # a forged snapshot would steer an execution
        async with as_identity(server, passwords, user) as nc:
            store = JetStreamSnapshotStore(nc)
            with pytest.raises(Exception):  # noqa: B017 - refused or never answered
                await asyncio.wait_for(store.put(execution_id, b"forged"), 2)
            with pytest.raises(Exception):  # noqa: B017
                await asyncio.wait_for(store.get(execution_id), 2)
    assert await JetStreamSnapshotStore(operator).get(execution_id) == b"state"


async def test_a_forged_start_on_the_executors_subject_is_never_run(
    locked: tuple[EmbeddedNats, dict], operator: Client
) -> None:
    server, passwords = locked
    victim = await run(operator, load_example("transform-chain"), {"orders": []})
    parent = ParentRef(execution_id=victim[0].execution_id, node_id="total", attempt=1)
    forged = f"{parent.execution_id}-total-1-forged"
    async with as_identity(server, passwords, "executors") as nc:
        # allowed subject, but the parent's node is not running: refused and purged
        await nc.jetstream().publish(outcome_subject(forged), encode(_started(forged, parent)))
    await asyncio.sleep(0.5)
    assert await ExecutionLog(operator).read(forged) == []


async def test_an_executor_reads_only_outcome_subjects(
    locked: tuple[EmbeddedNats, dict], operator: Client
) -> None:
    """A run's definition, inputs and decisions stay out of the executors' reach: no direct
    get, no consumer on the event subject; what the executors appended reads back."""
    server, passwords = locked
    state, _ = await run(operator, load_example("transform-chain"), {"orders": []})
    execution_id = state.execution_id
    events = stored_event_subject(execution_id)
    # the same reads work for the operator: the requests are well formed
    await operator.jetstream().get_msg(EXEC_STREAM, seq=1, subject=events, direct=True, next=True)
    await operator.jetstream().get_msg(EXEC_STREAM, seq=1)
    async with as_identity(server, passwords, "executors") as nc:
        js = nc.jetstream()
        with pytest.raises(Exception):  # noqa: B017 - the request is dropped: no answer
            await js.get_msg(EXEC_STREAM, seq=1, subject=events, direct=True, next=True)
        with pytest.raises(Exception):  # noqa: B017
            await js.get_msg(EXEC_STREAM, seq=1)
        for subject in (events, log_subjects(execution_id)):
            with pytest.raises(Exception):  # noqa: B017
                await asyncio.wait_for(
                    js.add_consumer(
                        EXEC_STREAM,
                        ConsumerConfig(name="peek", filter_subject=subject, deliver_subject="x"),
                    ),
                    2,
                )
        with pytest.raises(Exception):  # noqa: B017 - unfiltered: the filter is not checkable
            await asyncio.wait_for(
                js.add_consumer(EXEC_STREAM, ConsumerConfig(deliver_subject="x")), 2
            )
        outcomes = await ExecutionLog(nc, outcomes=True).read(execution_id)
    assert outcomes and all(isinstance(e, NodeCompleted) for _, e in outcomes)
    everything = await ExecutionLog(operator).read(execution_id)
    assert len(everything) > len(outcomes)


async def test_the_gateway_cannot_publish_commands(
    locked: tuple[EmbeddedNats, dict], operator: Client
) -> None:
    server, passwords = locked
    async with as_identity(server, passwords, "gateway") as nc:
        with pytest.raises(Exception):  # noqa: B017 - the publish is never acknowledged
            await nc.jetstream().publish(command_subject("echo"), b"{}", timeout=1)


async def test_workflows_run_with_every_component_under_its_own_identity(
    locked: tuple[EmbeddedNats, dict], operator: Client
) -> None:
    server, passwords = locked
    async with as_identity(server, passwords, "gateway") as gateway:
        orders = {"orders": [{"name": "a", "price": 5}]}
        state, _ = await run(gateway, load_example("transform-chain"), orders)
        assert state.status is ExecutionStatus.COMPLETED, state.error
        state, _ = await run(gateway, load_example("wait"), {"seconds": 1}, timeout=15)
        assert state.status is ExecutionStatus.COMPLETED, state.error
        execution_id = new_execution_id()
        await ExecutionLog(gateway).start(_started(execution_id))
        state, _ = await wait_for_end(gateway, execution_id)
        assert state.status is ExecutionStatus.COMPLETED


async def test_an_agent_tool_workflow_runs_as_a_child_under_the_executors_identity(
    locked: tuple[EmbeddedNats, dict], operator: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ALLOW_ENV, "127.0.0.1")
    doubler = parse_definition(
        {
            "nodes": {
                "in": {"id": "in", "type": "input", "data": {"schema": {"n": {"type": "number"}}}},
                "twice": {"id": "twice", "type": "transform", "data": {"expression": "n * 2"}},
                "out": {"id": "out", "type": "output", "data": {"output": "${twice.output}"}},
            },
            "edges": [
                {"id": "1", "source": "in", "target": "twice"},
                {"id": "2", "source": "twice", "target": "out"},
            ],
        }
    )
    tool = {"name": "double", "workflow_id": "doubler", "description": "doubles n"}
    fake = FakeOpenAI().start()
    monkeypatch.setenv("FLOWMAESTRO_OPENAI_BASE_URL", fake.base_url)  # the operator's endpoint
    try:
        fake.script(Reply(tool_calls=[("double", {"n": 21})]), Reply(text="It is 42."))
        config = {
            "provider": "openai",
            "base_url": fake.base_url,
            "prompt": "2x21",
            "tools": [tool],
        }
        agent = parse_definition(
            {"nodes": {"ai": {"id": "ai", "type": "agent", "data": config}}, "edges": []}
        )
        execution_id = new_execution_id()
        await ExecutionLog(operator).start(
            ExecutionStarted(
                execution_id=execution_id,
                definition=agent,
                started_at=datetime.now(UTC),
                workflows={"doubler": doubler},
            )
        )
        state, _ = await wait_for_end(operator, execution_id, timeout=30)
    finally:
        fake.stop()
    assert state.status is ExecutionStatus.COMPLETED, state.error
    (call,) = state.nodes["ai"].output["tool_calls"]
    assert call["ok"] and call["content"] == '{"out":42}', str(call)


def test_the_credentials_file_is_reused(tmp_path: Path) -> None:
    first = load_or_create_credentials(tmp_path)
    assert load_or_create_credentials(tmp_path) == first
    assert len(set(first.values())) == len(first)


async def test_the_gateway_arms_schedules_and_pulls_fires_but_cannot_forge_them(
    locked: tuple[EmbeddedNats, dict], operator: Client
) -> None:
    server, passwords = locked
    trigger_id = uuid.uuid4().hex
    async with as_identity(server, passwords, "gateway") as nc:
        js = nc.jetstream()
        await ensure_trigger_consumers(nc, PROJECTOR_CONSUMER)
        await arm(js, trigger_id, "*/1 * * * * *", "UTC")
        sub = await js.pull_subscribe_bind(trigger_fire_consumer(), TRIGGER_STREAM)
        fired = await sub.fetch(1, timeout=5)
        assert fired[0].subject == trigger_fire_subject(trigger_id)
        await fired[0].ack()
        await disarm(js, trigger_id)
        events = await js.pull_subscribe_bind(tenant_event_consumer(), EVENT_STREAM)
        with pytest.raises(Exception):  # noqa: B017 - the publish is never acknowledged
            await js.publish(trigger_fire_subject(trigger_id), b"{}", timeout=1)
        # tenants' events reach their namespaces through the gateway (`/api/events/...`)
        await js.publish(tenant_event_subject("someone", "x"), b"{}", timeout=1)
        await sub.unsubscribe()
        await events.unsubscribe()
    async with as_identity(server, passwords, "executors") as nc:
        for subject in (trigger_schedule_subject(trigger_id), tenant_event_filter("x", "y")):
            with pytest.raises(Exception):  # noqa: B017 - the publish is never acknowledged
                await nc.jetstream().publish(subject, b"{}", timeout=1)
    # the operator publishes into a tenant's namespace
    await operator.jetstream().publish(tenant_event_filter("someone", "x"), b"{}")


async def test_only_the_gateway_asks_probes_and_executors_answer_them(
    locked: tuple[EmbeddedNats, dict], operator: Client
) -> None:
    """The gateway's probe reaches an executor under its own identity and comes back; a
    scheduler cannot ask one (nor could a tenant: only services hold NATS identities)."""
    from flowmaestro.events.names import probe_subject
    from flowmaestro.events.probes import ProbeReply, ProbeRequest

    server, passwords = locked
    ask = msgspec.json.encode(ProbeRequest(operation="test", owner_id="nobody"))
    async with as_identity(server, passwords, "gateway") as nc:
        answer = await nc.request(probe_subject(), ask, timeout=5)
    reply = msgspec.json.decode(answer.data, type=ProbeReply)
    assert reply.ok is False and reply.kind == "invalid"  # answered: no integration named
    async with as_identity(server, passwords, "scheduler") as nc:
        with pytest.raises(Exception):  # noqa: B017 - refused by the server, never answered
            await nc.request(probe_subject(), ask, timeout=1)
