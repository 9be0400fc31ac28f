"""Leaks show up in the test that made them: an unclosed socket found by the garbage collector
later would fail whichever test happened to be running then."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def collect_garbage_after_each_test() -> Iterator[None]:
    yield
    gc.collect()
