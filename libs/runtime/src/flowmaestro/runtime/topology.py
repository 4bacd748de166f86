"""Creates or updates the streams, consumers and buckets FlowMaestro needs, idempotently."""

from __future__ import annotations

from collections.abc import Iterable

from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    ObjectStoreConfig,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import NotFoundError

from flowmaestro.events import names
from flowmaestro.runtime.config import Settings

__all__ = ["ensure_topology", "exec_stream_config"]


def exec_stream_config(settings: Settings) -> StreamConfig:
    """The execution log stream: one subject per execution, plus timer schedules."""
    return StreamConfig(
        name=names.EXEC_STREAM,
        subjects=[names.exec_wildcard(), names.timer_wildcard()],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        allow_direct=True,
        allow_msg_schedules=True,
        duplicate_window=settings.duplicate_window_s,
        max_msg_size=1024 * 1024,
        num_replicas=settings.stream_replicas,
    )


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
    js: JetStreamContext, node_types: Iterable[str], settings: Settings | None = None
) -> None:
    """Streams, the scheduler's consumer, one consumer per node type, the object buckets."""
    settings = settings or Settings.from_env()
    await _ensure_stream(js, exec_stream_config(settings))
    await _ensure_stream(js, _cmd_stream_config(settings))
    await _ensure_stream(js, _trigger_stream_config(settings))
    await _ensure_stream(js, _event_stream_config(settings))
    await js.add_consumer(
        names.EXEC_STREAM,
        ConsumerConfig(
            durable_name=names.SCHEDULER_CONSUMER,
            filter_subjects=[names.event_wildcard(), names.outcome_wildcard()],
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.ALL,
            ack_wait=settings.command_ack_wait_s,
            max_ack_pending=20_000,
            max_deliver=-1,
        ),
    )
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
    for bucket in (names.OUTPUT_BUCKET, names.FILE_BUCKET):
        try:
            await js.object_store(bucket)
        except NotFoundError:
            await js.create_object_store(
                bucket, ObjectStoreConfig(replicas=settings.stream_replicas)
            )
