"""Creates or updates the streams, consumers and buckets FlowMaestro needs, idempotently."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable

import nats.errors
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    ObjectStoreConfig,
    RetentionPolicy,
    StorageType,
    StreamConfig,
    SubjectTransform,
)
from nats.js.errors import (
    APIError,
    BucketNotFoundError,
    NotFoundError,
    ServiceUnavailableError,
)

from flowmaestro.events import names
from flowmaestro.runtime.config import Settings
from flowmaestro.runtime.snapshots import snapshot_bucket_config

__all__ = ["ensure_topology", "exec_stream_config", "streams_available", "wait_for_jetstream"]

JS_INFO = "$JS.API.INFO"


async def wait_for_jetstream(nc: Client, timeout: float = 30.0) -> None:
    """Wait until JetStream answers: a cluster that has just started answers nothing (or
    "temporarily unavailable") until its servers have elected a leader, a few seconds.
    Raises `TimeoutError` when it still does not after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last = "no answer"
    while True:
        try:
            reply = await nc.request(JS_INFO, b"", timeout=0.5)
            error = json.loads(reply.data).get("error")
            if not error:
                return
            last = str(error)
        except (nats.errors.TimeoutError, nats.errors.NoRespondersError, ValueError) as exc:
            last = repr(exc)
        if loop.time() > deadline:
            raise TimeoutError(f"JetStream did not answer in {timeout:.0f} s: {last}")
        await asyncio.sleep(0.1)


async def _stream_led(nc: Client, stream: str, timeout: float) -> bool:
    try:
        reply = await nc.request(f"$JS.API.STREAM.INFO.{stream}", b"", timeout=timeout)
        info = json.loads(reply.data)
    except (nats.errors.Error, ValueError):
        return False
    if not isinstance(info, dict) or info.get("error"):
        return False
    cluster = info.get("cluster")
    return not isinstance(cluster, dict) or bool(cluster.get("leader"))


async def streams_available(nc: Client, streams: Iterable[str], timeout: float = 1.0) -> bool:
    """Whether every one of `streams` answers now, and on a cluster has a leader. While a
    server restarts, or a cluster elects a new leader after losing one (seconds), a
    publish to the stream finds nobody (503) or no acknowledgement: the stream's
    outage, not a refusal of that message."""
    answers = await asyncio.gather(*(_stream_led(nc, s, timeout) for s in streams))
    return all(answers)


CHILD_RESULT_TTL_S = 7 * 24 * 3600
"""How long a tool-call child's end stays readable: beyond any tool time-out."""


_NO_PEERS = 10005
"""JetStream's "no suitable peers for placement"."""
PIN_TTL_S = 2.0
"""How long a scheduler partition stays pinned to a replica that stopped pulling (killed,
cut off) before JetStream pins it to another: the bulk of a fail-over's delay."""
PARTITION_ACK_WAIT_S = 3.0
"""When a partition's unacknowledged events come again (to the replica now pinned): an
event handed to a replica killed before acknowledging it is handled within this. The
scheduler acknowledges within milliseconds; a redelivery it already folded is skipped."""


def exec_stream_config(settings: Settings) -> StreamConfig:
    """The execution log stream: one subject per execution, plus timer schedules; each
    log subject stored under its scheduler partition (`names.partition_transform`)."""
    source, destination = names.partition_transform(names.SCHEDULER_PARTITIONS)
    return StreamConfig(
        name=names.EXEC_STREAM,
        subjects=[names.exec_wildcard(), names.timer_wildcard()],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        allow_direct=True,
        allow_msg_schedules=True,
        subject_transform=SubjectTransform(src=source, dest=destination),
        duplicate_window=settings.duplicate_window_s,
        max_msg_size=1024 * 1024,
        num_replicas=settings.stream_replicas,
    )


def _partition_consumer(partition: int, settings: Settings) -> dict[str, object]:
    """One scheduler partition's durable consumer, pinned to one replica at a time
    (nats-py's `ConsumerConfig` has no priority-group fields: sent as the raw API's JSON)."""
    return {
        "durable_name": names.scheduler_partition(partition),
        "filter_subjects": names.partition_filters(partition),
        "deliver_policy": "all",
        "ack_policy": "all",
        "ack_wait": int(PARTITION_ACK_WAIT_S * 1e9),
        "max_ack_pending": 20_000,
        "max_deliver": -1,
        "num_replicas": 0,  # the stream's
        "priority_groups": [names.SCHEDULER_GROUP],
        "priority_policy": "pinned_client",
        "priority_timeout": int(PIN_TTL_S * 1e9),
    }


def _presence_consumer() -> dict[str, object]:
    # a filter under the stream's subjects that no stored subject has (those have 5 tokens)
    return {
        "durable_name": names.SCHEDULER_PRESENCE,
        "filter_subject": names.exec_subject(names.SCHEDULER_PRESENCE),
        "deliver_policy": "new",
        "ack_policy": "none",
        "max_waiting": 4096,
    }


async def _add_consumer(js: JetStreamContext, stream: str, config: dict[str, object]) -> None:
    """Create or update a durable consumer through the raw JetStream API."""
    name = str(config["durable_name"])
    body = json.dumps({"stream_name": stream, "config": config}).encode()
    reply = await js._nc.request(f"$JS.API.CONSUMER.CREATE.{stream}.{name}", body, timeout=5.0)
    error = json.loads(reply.data).get("error")
    if error:
        if error.get("code") == 503:
            raise ServiceUnavailableError(description=str(error))
        raise RuntimeError(f"creating consumer {name} of {stream}: {error}")


def _cmd_stream_config(settings: Settings) -> StreamConfig:
    return StreamConfig(
        name=names.CMD_STREAM,
        subjects=[names.command_wildcard()],
        retention=RetentionPolicy.WORK_QUEUE,
        storage=StorageType.FILE,
        duplicate_window=settings.duplicate_window_s,
        max_msg_size=1024 * 1024,
        num_replicas=settings.stream_replicas,
    )


def _trigger_stream_config(settings: Settings) -> StreamConfig:
    """Cron triggers' schedules and the fires they write (the last few per trigger)."""
    return StreamConfig(
        name=names.TRIGGER_STREAM,
        subjects=[names.trigger_schedule_wildcard(), names.trigger_fire_wildcard()],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        allow_direct=True,
        allow_msg_schedules=True,
        max_msgs_per_subject=100,
        duplicate_window=settings.duplicate_window_s,
        max_msg_size=64 * 1024,
        num_replicas=settings.stream_replicas,
    )


def _event_stream_config(settings: Settings) -> StreamConfig:
    """Messages published into tenants' event namespaces, kept a week for event triggers."""
    return StreamConfig(
        name=names.EVENT_STREAM,
        subjects=[names.tenant_event_wildcard()],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        max_age=7 * 86_400,
        max_bytes=1024 * 1024 * 1024,
        duplicate_window=settings.duplicate_window_s,
        max_msg_size=1024 * 1024,
        num_replicas=settings.stream_replicas,
    )


async def _ensure_stream(js: JetStreamContext, config: StreamConfig) -> None:
    try:
        await js.stream_info(config.name or "")
    except NotFoundError:
        await js.add_stream(config)
        return
    await js.update_stream(config)


async def ensure_topology(
    js: JetStreamContext,
    node_types: Iterable[str],
    settings: Settings | None = None,
    timeout: float = 60.0,
) -> None:
    """Streams, the scheduler partitions' consumers, one consumer per node type, the object buckets.
    Every step is idempotent, so what JetStream cannot answer yet (a cluster's streams
    electing their leaders after a restart) is tried again, for up to `timeout` seconds."""
    settings = settings or Settings.from_env()
    node_types = list(node_types)
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            return await _ensure_topology(js, node_types, settings)
        except (nats.errors.TimeoutError, nats.errors.NoRespondersError, ServiceUnavailableError):
            if asyncio.get_running_loop().time() > deadline:
                raise
        except APIError as exc:
            # a cluster just started: not every server has joined the placement yet
            if exc.err_code != _NO_PEERS or asyncio.get_running_loop().time() > deadline:
                raise
        await asyncio.sleep(0.5)


async def _ensure_topology(js: JetStreamContext, node_types: list[str], settings: Settings) -> None:
    await _ensure_stream(js, exec_stream_config(settings))
    await _ensure_stream(js, _cmd_stream_config(settings))
    await _ensure_stream(js, _trigger_stream_config(settings))
    await _ensure_stream(js, _event_stream_config(settings))
    for partition in range(names.SCHEDULER_PARTITIONS):
        await _add_consumer(js, names.EXEC_STREAM, _partition_consumer(partition, settings))
    await _add_consumer(js, names.EXEC_STREAM, _presence_consumer())
    for node_type in node_types:
        await js.add_consumer(
            names.CMD_STREAM,
            ConsumerConfig(
                durable_name=names.executor_consumer(node_type),
                filter_subject=names.command_subject(node_type),
                ack_policy=AckPolicy.EXPLICIT,
                ack_wait=settings.command_ack_wait_s,
                max_ack_pending=10_000,
                max_deliver=-1,
            ),
        )
    try:
        await js.key_value(names.CHILD_RESULT_BUCKET)
    except (BucketNotFoundError, NotFoundError):
        await js.create_key_value(
            bucket=names.CHILD_RESULT_BUCKET,
            ttl=CHILD_RESULT_TTL_S,
            replicas=settings.stream_replicas,
        )
    try:
        await js.object_store(names.SNAPSHOT_BUCKET)
    except NotFoundError:
        await js.create_object_store(
            names.SNAPSHOT_BUCKET, snapshot_bucket_config(settings.stream_replicas)
        )
    for bucket in (names.OUTPUT_BUCKET, names.FILE_BUCKET):
        try:
            await js.object_store(bucket)
        except NotFoundError:
            await js.create_object_store(
                bucket, ObjectStoreConfig(replicas=settings.stream_replicas)
            )
