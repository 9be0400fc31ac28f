"""The sweeper's full garbage collection after a wave of connections, while nothing is broadcast."""

from __future__ import annotations

import gc
import time
from typing import Any

from ecabinet.realtime import QuietCollector


class FullCollections:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "stop" and info["generation"] == 2:
            self.count += 1


def test_a_wave_of_connections_is_collected_once_no_event_is_being_broadcast() -> None:
    full = FullCollections()
    gc.callbacks.append(full)
    try:
        collector = QuietCollector()
        long_ago = time.monotonic() - 60
        assert not collector.collect_if_due(40, long_ago)  # a cabinet's tablets: not worth it
        assert not collector.collect_if_due(1500, time.monotonic())  # events are going out: later
        before = full.count
        assert collector.collect_if_due(1500, long_ago)
        assert full.count > before
        assert not collector.collect_if_due(1700, long_ago)  # grown by less than a quarter
        assert not collector.collect_if_due(300, long_ago)  # most left (a network cut)...
        before = full.count
        assert collector.collect_if_due(1500, long_ago)  # ...and came back: their old sockets are garbage
        assert full.count > before
    finally:
        gc.callbacks.remove(full)
