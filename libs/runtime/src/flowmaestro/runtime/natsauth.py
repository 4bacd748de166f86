"""NATS identities: one user per component, each allowed only the subjects it needs.

The local stack's passwords are generated on the first `flowmaestro up` into
`<state>/nats-credentials.json` (mode 0600); the server's configuration, holding the same
passwords, is written with mode 0600 too. Each service gets its identity through
`FLOWMAESTRO_NATS_USER` / `FLOWMAESTRO_NATS_PASSWORD`; the CLI reads the state folder.

Deployments (compose, the Helm chart) give their servers the same users and permissions:
`server_authorization_config` as configuration text, passwords from the environment.

Every identity gets its own reply inbox prefix (`_INBOX_<user>.>`), so no component can
listen to another's replies.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from flowmaestro.events import names

__all__ = [
    "IDENTITIES",
    "NatsCredentials",
    "credentials_file",
    "env_credentials",
    "inbox_prefix",
    "load_or_create_credentials",
    "password_variable",
    "permissions",
    "server_authorization",
    "server_authorization_config",
]

IDENTITIES = ("gateway", "scheduler", "executors", "cli")
"""`cli` is the operator: it creates the topology and may do anything (like an admin)."""

CREDENTIALS_FILE = "nats-credentials.json"

NatsCredentials = tuple[str, str]
"""(user, password)."""


def credentials_file(home: Path) -> Path:
    """Where the local stack keeps its NATS passwords."""
    return home / CREDENTIALS_FILE


def load_or_create_credentials(home: Path) -> dict[str, str]:
    """Password by identity, from the state folder; created (mode 0600) the first time."""
    path = credentials_file(home)
    try:
        stored = json.loads(path.read_text())
        if isinstance(stored, dict) and all(isinstance(stored.get(i), str) for i in IDENTITIES):
            return {i: stored[i] for i in IDENTITIES}
    except (OSError, ValueError):
        pass
    created = {identity: secrets.token_urlsafe(32) for identity in IDENTITIES}
    write_private(path, json.dumps(created, indent=2))
    return created


def write_private(path: Path, text: str) -> None:
    """Write `text` to a file only its owner can read (created with mode 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def env_credentials() -> NatsCredentials | None:
    """`FLOWMAESTRO_NATS_USER` / `FLOWMAESTRO_NATS_PASSWORD`, when set."""
    user = os.environ.get("FLOWMAESTRO_NATS_USER")
    if not user:
        return None
    return user, os.environ.get("FLOWMAESTRO_NATS_PASSWORD", "")


def inbox_prefix(user: str | None) -> str:
    """The reply-inbox prefix of an identity (the plain `_INBOX` without one)."""
    return f"_INBOX_{user}" if user else "_INBOX"


def _stream_read(stream: str) -> list[str]:
    api = "$JS.API"
    return [
        f"{api}.STREAM.INFO.{stream}",
        f"{api}.STREAM.MSG.GET.{stream}",
        f"{api}.DIRECT.GET.{stream}",
        f"{api}.DIRECT.GET.{stream}.>",
        # ephemeral (ordered) consumers: tails, object reads, key listings
        f"{api}.CONSUMER.CREATE.{stream}",
        f"{api}.CONSUMER.CREATE.{stream}.>",
        f"{api}.CONSUMER.DELETE.{stream}.>",
        f"{api}.CONSUMER.INFO.{stream}.>",
        f"$JS.FC.{stream}.>",
    ]


def _bucket(kind: str, bucket: str, write: bool) -> list[str]:
    """A key-value (`KV`) or object (`OBJ`) bucket: read, or read and write."""
    stream = f"{kind}_{bucket}"
    allowed = _stream_read(stream)
    if write:
        data = "$KV" if kind == "KV" else "$O"
        allowed += [
            f"{data}.{bucket}.>",
            f"$JS.API.STREAM.CREATE.{stream}",  # buckets are created on first use
            f"$JS.API.STREAM.PURGE.{stream}",  # object puts drop replaced chunks
        ]
    return allowed


def _pull(stream: str, consumer: str) -> list[str]:
    """Pull from, and acknowledge, one durable consumer (`*`: any of the stream's)."""
    return [
        f"$JS.API.CONSUMER.INFO.{stream}.{consumer}",
        f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{consumer}",
        f"$JS.ACK.{stream}.{consumer}.>",
    ]


def _scheduler_partitions(stream: str) -> list[str]:
    """Pull from every scheduler partition's consumer and unpin one (to hand it to another
    replica); wait on the presence consumer that counts the replicas."""
    allowed = _pull(stream, names.SCHEDULER_PRESENCE)
    for partition in range(names.SCHEDULER_PARTITIONS):
        consumer = names.scheduler_partition(partition)
        allowed += [*_pull(stream, consumer), f"$JS.API.CONSUMER.UNPIN.{stream}.{consumer}"]
    return allowed


def permissions(identity: str, projector: str = names.PROJECTOR_CONSUMER) -> dict[str, Any]:
    """The server's `permissions` block for one identity (publish/subscribe allow lists).

    - scheduler: folds the logs of the partitions it is given (their consumers; it may
      unpin one), appends decisions and records, arms and purges timers, publishes
      commands and cancel notices; reads and writes outputs and the snapshots of folded
      states (no other identity may touch those: a forged snapshot would steer an
      execution).
    - executors: pull their commands and acknowledge them; append to, and read back, only
      the outcome subjects (`fm.exec.*.x`: an attempt's own result and records) — through
      consumers whose filter the server checks, never a direct get of a whole log; read
      tool-call children's ends (the child-results bucket); publish live chunks; receive
      cancel notices; use outputs, files, the node cache and rate-limit buckets; read
      (never write) integrations; answer probes (`fm.ctl.probe`: one reply each).
    - gateway: starts, cancels and answers executions (`fm.exec.*.e`); reads logs; runs its
      projector's consumer; reads live chunks; manages files and integrations; arms and
      purges trigger schedules (`fm.trigger.schedule.*`), pulls their fires and tenants'
      events (its two trigger consumers); publishes the events tenants send it
      (`fm.tenant.*.events.>`, each into the sender's own namespace); asks executors to
      probe integrations (`fm.ctl.probe`). It never publishes fires.
    - cli: the operator; everything (it creates the topology).
    """
    exec_stream = names.EXEC_STREAM
    cmd_stream = names.CMD_STREAM
    common = ["$JS.API.INFO", "$JS.API.STREAM.NAMES"]  # names: to find a subject's stream
    inbox = [f"{inbox_prefix(identity)}.>"]
    if identity == "cli":
        return {"publish": {"allow": [">"]}, "subscribe": {"allow": [">"]}}
    if identity == "scheduler":
        publish = [
            names.event_wildcard(),
            names.record_wildcard(),
            names.timer_wildcard(),
            names.command_wildcard(),
            names.cancel_wildcard(),
            *_stream_read(exec_stream),
            *_scheduler_partitions(exec_stream),
            f"$JS.API.STREAM.PURGE.{exec_stream}",
            f"$JS.API.STREAM.INFO.{cmd_stream}",  # is it led (a cluster electing)?
            *_bucket("OBJ", names.OUTPUT_BUCKET, write=True),
            *_bucket("OBJ", names.SNAPSHOT_BUCKET, write=True),
            *_bucket("KV", names.CHILD_RESULT_BUCKET, write=True),
        ]
        subscribe = inbox
    elif identity == "executors":
        publish = [
            names.outcome_wildcard(),
            names.live_any(),
            *_pull(cmd_stream, "*"),
            f"$JS.API.CONSUMER.CREATE.{exec_stream}.*.{names.outcome_wildcard()}.*",
            *_bucket("KV", names.CHILD_RESULT_BUCKET, write=False),
            *_bucket("OBJ", names.OUTPUT_BUCKET, write=True),
            *_bucket("OBJ", names.FILE_BUCKET, write=True),
            *_bucket("KV", names.CACHE_BUCKET, write=True),
            *_bucket("KV", names.LIMIT_BUCKET, write=True),
            *_bucket("KV", names.INTEGRATION_BUCKET, write=False),
        ]
        subscribe = [*inbox, names.cancel_wildcard(), names.probe_subject()]
        # answering a probe publishes once to the asker's inbox, and to nothing else
        return {
            "publish": {"allow": common + publish},
            "subscribe": {"allow": subscribe},
            "allow_responses": {"max": 1, "expires": "60s"},
        }
    elif identity == "gateway":
        publish = [
            names.event_wildcard(),
            *_stream_read(exec_stream),
            *_pull(exec_stream, projector),
            f"$JS.API.CONSUMER.DURABLE.CREATE.{exec_stream}.{projector}",
            *_bucket("OBJ", names.OUTPUT_BUCKET, write=False),
            *_bucket("OBJ", names.FILE_BUCKET, write=True),
            *_bucket("KV", names.INTEGRATION_BUCKET, write=True),
            *_bucket("KV", names.LIMIT_BUCKET, write=True),
            names.trigger_schedule_wildcard(),
            names.tenant_event_wildcard(),
            names.probe_subject(),
            f"$JS.API.STREAM.PURGE.{names.TRIGGER_STREAM}",
            *_stream_read(names.TRIGGER_STREAM),
            *_pull(names.TRIGGER_STREAM, names.trigger_fire_consumer(projector)),
            *_pull(names.EVENT_STREAM, names.tenant_event_consumer(projector)),
            f"$JS.API.CONSUMER.DURABLE.CREATE.{names.TRIGGER_STREAM}."
            + names.trigger_fire_consumer(projector),
            f"$JS.API.CONSUMER.DURABLE.CREATE.{names.EVENT_STREAM}."
            + names.tenant_event_consumer(projector),
        ]
        subscribe = [*inbox, names.live_any()]
    else:
        raise ValueError(f"unknown NATS identity {identity!r}; one of {', '.join(IDENTITIES)}")
    return {"publish": {"allow": common + publish}, "subscribe": {"allow": subscribe}}


def server_authorization(passwords: dict[str, str]) -> dict[str, Any]:
    """The server's `authorization` block: each identity with its password and permissions."""
    return {
        "users": [
            {
                "user": identity,
                "password": passwords[identity],
                "permissions": permissions(identity),
            }
            for identity in IDENTITIES
        ]
    }


def password_variable(identity: str) -> str:
    """The environment variable a deployed nats-server reads an identity's password from."""
    return f"NATS_{identity.upper()}_PASSWORD"


def server_authorization_config() -> str:
    """The `authorization` block as nats-server configuration text for a deployment (compose,
    the Helm chart): the same identities and permissions as `server_authorization`, each
    password taken from the server's environment (`password_variable`), never written."""
    users = ",\n".join(
        "    {"
        + f'"user": {json.dumps(identity)}, "password": ${password_variable(identity)}, '
        + f'"permissions": {json.dumps(permissions(identity), sort_keys=True)}'
        + "}"
        for identity in IDENTITIES
    )
    return f"authorization {{\n  users: [\n{users}\n  ]\n}}\n"
