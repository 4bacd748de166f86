"""A bounded pool of worker processes for user work that must not run on the event loop.

Each task runs in a long-lived worker process (reused, so the warm path is one pipe round
trip), under a wall-time limit and a memory limit: the worker lowers its address-space
limit (`RLIMIT_AS`) for the task, and the pool watches its resident memory. A worker that
overruns either is killed and replaced; only the task it was running fails. Slots are
shared fairly between tenants (`FairSlots`): a cap per tenant, waiters served in turn.

The worker side is `flowmaestro.workers`; a task module gives it `handle(payload)`
and, optionally, `prepare()` (run at start and after every task, off the measured path).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import signal
import subprocess
import sys
import time
import weakref
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import anyio

from flowmaestro.executors.fair_queue import FairSlots, QueueFull
from flowmaestro.workers import HEADER, MIB, TaskFailed, decode, frame

__all__ = ["LazyPool", "PoolSpec", "TaskFailed", "WorkerPool"]

_MAX_FRAME = 256 * MIB
_WATCH_INTERVAL_S = 0.05
_RSS_SLACK = 32 * MIB
_SPAWN_TIMEOUT_S = 60.0


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError, ValueError):
        return 0


@dataclass(frozen=True, slots=True)
class PoolSpec:
    """What a pool runs and how many of it: the task module, size and fairness."""

    name: str
    module: str
    size: int
    per_owner: int
    max_queue: int
    nice: int = 10


@dataclass(eq=False)
class _Worker:
    # Plain `subprocess` with the pipes joined to the loop: asyncio's child watcher
    # threads can hold up the interpreter's exit while a worker is still running.
    process: subprocess.Popen[bytes]
    replies: asyncio.StreamReader
    requests: asyncio.StreamWriter
    errors: asyncio.StreamReader
    transports: list[asyncio.BaseTransport]
    stderr_tail: bytearray = field(default_factory=bytearray)
    killed_for: str | None = None
    drain: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.killed_for is None and self.process.poll() is None

    def kill(self, reason: str) -> None:
        self.killed_for = self.killed_for or reason
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)

    def close(self) -> None:
        for transport in self.transports:
            with contextlib.suppress(RuntimeError):  # the loop may be closed already
                transport.close()

    async def exited(self, timeout: float = 5.0) -> int | None:
        """The exit status once the process has ended (reaping it), or None."""
        deadline = time.monotonic() + timeout
        # No child watcher tells the loop of this process's exit, so poll (rarely: a
        # worker only ends when killed).
        while (code := self.process.poll()) is None and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        return code

    async def read_frame(self) -> Any:
        (size,) = HEADER.unpack(await self.replies.readexactly(HEADER.size))
        if size > _MAX_FRAME:
            raise TaskFailed("output", f"the task's reply is larger than {_MAX_FRAME} bytes")
        return decode(await self.replies.readexactly(size))

    async def drain_stderr(self) -> None:
        while chunk := await self.errors.read(65536):
            self.stderr_tail += chunk
            del self.stderr_tail[:-4096]


async def _start(command: list[str], loop: asyncio.AbstractEventLoop) -> _Worker:
    process = subprocess.Popen(  # noqa: ASYNC220 - fork and exec take about a millisecond
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={},
        start_new_session=True,
    )
    assert process.stdin and process.stdout and process.stderr
    for ended in [p for p in _processes if p.poll() is not None]:
        _processes.discard(ended)
    _processes.add(process)
    replies = asyncio.StreamReader(loop=loop)
    errors = asyncio.StreamReader(loop=loop)
    out, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(replies, loop=loop), process.stdout
    )
    err, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(errors, loop=loop), process.stderr
    )
    into, protocol = await loop.connect_write_pipe(
        lambda: asyncio.streams.FlowControlMixin(loop=loop), process.stdin
    )
    requests = asyncio.StreamWriter(into, protocol, None, loop)
    return _Worker(process, replies, requests, errors, [out, err, into])


_pools: weakref.WeakSet[WorkerPool] = weakref.WeakSet()
# Every worker process started and not yet seen to end, also those of pools already gone.
_processes: set[subprocess.Popen[bytes]] = set()


@atexit.register
def close_all_pools() -> None:
    """Kill every pool's workers. Run at exit: workers would leave when this process does,
    but waiting on their exit could hold up the interpreter's shutdown."""
    for pool in list(_pools):
        pool.close()
    for process in _processes:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(1)
    _processes.clear()


class WorkerPool:
    """`spec.size` worker processes running `spec.module`'s tasks, fairly, with limits."""

    def __init__(self, spec: PoolSpec) -> None:
        self.spec = spec
        self.loop = asyncio.get_running_loop()
        self._slots = FairSlots(spec.size, spec.per_owner, spec.max_queue)
        self._idle: list[_Worker] = []
        self._all: set[_Worker] = set()
        # Background work (spare workers starting, retired ones reaped) runs in the pool's
        # own task group, held by one task: closing the pool cancels all of it at once.
        self._jobs: asyncio.Queue[Callable[[], Coroutine[Any, Any, Any]]] = asyncio.Queue()
        self._owner = self.loop.create_task(self._own_background())
        self.spawned = 0
        self._starting = 0
        _pools.add(self)

    async def run(self, owner: str, payload: Any, *, seconds: float, memory_mb: int) -> Any:
        """Run one task for `owner`; its value, or `TaskFailed` saying what went wrong."""
        try:
            await self._slots.acquire(owner)
        except QueueFull as exc:
            raise TaskFailed("busy", f"the {self.spec.name} workers are busy: {exc}") from exc
        try:
            worker = await self._take()
            try:
                return await self._call(worker, payload, seconds, memory_mb)
            finally:
                if worker.alive:
                    self._idle.append(worker)
                else:
                    self._retire(worker)
        finally:
            self._slots.release(owner)

    def warm(self, count: int = 2) -> None:
        """Start up to `count` workers in the background, so first tasks find them ready."""
        for _ in range(min(count, self.spec.size) - len(self._all) - self._starting):
            self._in_background(self._spawn_idle)

    async def _take(self) -> _Worker:
        # The longest idle worker first: it has had the most time to prepare its next run.
        while self._idle:
            worker = self._idle.pop(0)
            if worker.alive:
                self._keep_a_spare()
                return worker
            self._retire(worker)
        return await self._spawn()

    def _keep_a_spare(self) -> None:
        # Another tenant's next task should find a worker ready, not wait for one to start.
        if not self._idle and len(self._all) + self._starting < self.spec.size:
            self._in_background(self._spawn_idle)

    def close(self) -> None:
        """Kill every worker (they also leave on their own when this process ends)."""
        for worker in list(self._all):
            worker.kill("closed")
            worker.close()
        self._all.clear()
        self._idle.clear()
        with contextlib.suppress(RuntimeError):  # at exit the loop may be gone already
            self._owner.cancel()

    async def _call(self, worker: _Worker, payload: Any, seconds: float, memory_mb: int) -> Any:
        stdin = worker.requests
        ceiling = _rss(worker.pid) + memory_mb * MIB
        failure: TaskFailed | None = None
        reply: Any = None
        try:
            # The memory watchdog lives exactly as long as the call, in the call's own task
            # group; what goes wrong is caught inside it (a task group would wrap it).
            async with anyio.create_task_group() as watching:
                watching.start_soon(self._watch, worker, ceiling)
                try:
                    stdin.write(frame({"payload": payload, "memory_mb": memory_mb}))
                    async with asyncio.timeout(seconds):
                        await stdin.drain()
                        reply = await worker.read_frame()
                except TimeoutError:
                    worker.kill("timeout")
                    failure = TaskFailed("timeout", f"time limit of {seconds:g}s exceeded")
                except (asyncio.IncompleteReadError, ConnectionError, BrokenPipeError):
                    failure = await self._death(worker, memory_mb)
                finally:
                    watching.cancel_scope.cancel()
        except BaseException:
            worker.kill("abandoned")  # cancelled mid-task: its reply would confuse the next
            raise
        if failure is not None:
            raise failure
        if reply.get("ok"):
            return reply.get("value")
        raise TaskFailed(str(reply.get("kind") or "error"), str(reply.get("message") or "failed"))

    async def _watch(self, worker: _Worker, ceiling: int) -> None:
        # RLIMIT_AS misses memory mapped inside ranges reserved earlier (V8 reserves its
        # sandbox up front); resident memory catches what it misses.
        while True:
            await asyncio.sleep(_WATCH_INTERVAL_S)
            if _rss(worker.pid) > ceiling + _RSS_SLACK:
                worker.kill("memory")
                return

    async def _death(self, worker: _Worker, memory_mb: int) -> TaskFailed:
        code = await worker.exited(2.0)
        if worker.drain is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1):
                    await worker.drain
        tail = bytes(worker.stderr_tail)
        if worker.killed_for == "memory" or b"out of memory" in tail or b"MemoryError" in tail:
            return TaskFailed("memory", f"memory limit of {memory_mb} MB exceeded")
        how = f"signal {signal.Signals(-code).name}" if code and code < 0 else f"exit {code}"
        return TaskFailed("crash", f"the {self.spec.name} worker stopped ({how})")

    async def _spawn(self) -> _Worker:
        command = [sys.executable, "-I", "-B", "-m", "flowmaestro.workers"]
        worker = await _start([*command, self.spec.module, str(self.spec.nice)], self.loop)
        worker.drain = self.loop.create_task(worker.drain_stderr())
        self._all.add(worker)
        self.spawned += 1
        try:
            async with asyncio.timeout(_SPAWN_TIMEOUT_S):
                ready = await worker.read_frame()
        except BaseException:
            worker.kill("start")
            self._retire(worker)
            raise
        if ready != {"ready": True}:
            worker.kill("start")
            self._retire(worker)
            raise TaskFailed("crash", f"the {self.spec.name} worker did not start")
        return worker

    async def _spawn_idle(self) -> None:
        self._starting += 1
        try:
            with contextlib.suppress(Exception):
                self._idle.append(await self._spawn())
        finally:
            self._starting -= 1

    def _retire(self, worker: _Worker) -> None:
        worker.kill("retired")
        worker.close()
        self._all.discard(worker)
        self._in_background(worker.exited)
        if len(self._all) + self._starting < self.spec.size:
            self._in_background(self._spawn_idle)  # a replacement, ready before it is needed

    def _in_background(self, job: Callable[[], Coroutine[Any, Any, Any]]) -> None:
        self._jobs.put_nowait(job)

    async def _own_background(self) -> None:
        async def guarded(job: Callable[[], Coroutine[Any, Any, Any]]) -> None:
            with contextlib.suppress(Exception):  # one failed spawn must not end the rest
                await job()

        async with anyio.create_task_group() as group:
            while True:
                group.start_soon(guarded, await self._jobs.get())


class LazyPool:
    """A pool created on first use in the running event loop (and again in a new loop)."""

    def __init__(self, make_spec: Any) -> None:
        self._make_spec = make_spec
        self._pool: WorkerPool | None = None

    def get(self) -> WorkerPool:
        """This loop's pool."""
        loop = asyncio.get_running_loop()
        if self._pool is None or self._pool.loop is not loop:
            if self._pool is not None:
                self._pool.close()
            self._pool = WorkerPool(self._make_spec())
            self._pool.warm()
        return self._pool
