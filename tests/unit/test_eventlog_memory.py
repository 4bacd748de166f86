"""The execution-log contract, in memory (no server)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from flowmaestro.runtime.eventlog import MemoryEventLog
from tests.support.eventlog_contract import EventLogContract


class TestMemoryEventLog(EventLogContract):
    """Every contract test against `MemoryEventLog`."""

    @pytest.fixture
    def log(self) -> Iterator[MemoryEventLog]:
        log = MemoryEventLog()
        yield log
        log.close()
