"""`flowmaestro setup`: what a deployment runs once before the services start."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from flowmaestro.events import CATALOGUE, names
from flowmaestro.runtime import EmbeddedNats, connect

pytestmark = pytest.mark.integration


async def test_setup_creates_streams_consumers_and_buckets_on_a_fresh_server(
    tmp_path: Path,
) -> None:
    server = EmbeddedNats(tmp_path / "nats").start()
    try:
        env = {**os.environ, "FLOWMAESTRO_STREAM_REPLICAS": "1", "FLOWMAESTRO_HOME": str(tmp_path)}
        process = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "flowmaestro.cli.main", "--nats", server.url, "setup"),
            env=env,
            stderr=asyncio.subprocess.PIPE,
        )
        _, stderr = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 0, stderr.decode()
        nc = await connect(server.url, persistent=False)
        try:
            js = nc.jetstream()
            for stream in (names.EXEC_STREAM, names.CMD_STREAM):
                info = await js.stream_info(stream)
                assert info.config.num_replicas == 1
            for partition in range(names.SCHEDULER_PARTITIONS):
                await js.consumer_info(names.EXEC_STREAM, names.scheduler_partition(partition))
            for node_type in CATALOGUE:
                await js.consumer_info(names.CMD_STREAM, names.executor_consumer(node_type))
            for bucket in (names.OUTPUT_BUCKET, names.FILE_BUCKET):
                await js.object_store(bucket)
        finally:
            await nc.close()
    finally:
        server.stop()
