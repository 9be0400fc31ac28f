"""C work that releases the GIL, run off the gevent hub.

In the gevent server (``ecabinet.server`` patches the standard library) a PIN's key derivation or
an Argon2 password check would stop every request for 70-200 ms; in a native thread it runs on the
other core while the hub serves the rest. Elsewhere (tests, the CLI) it is a plain call.
The function runs outside the app and request contexts: pass it plain values only.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
_pool: Any = None


def under_gevent() -> bool:
    """Whether this process serves under gevent (the standard library patched)."""
    if "gevent" not in sys.modules:
        return False
    from gevent import monkey

    return bool(monkey.is_module_patched("threading"))


def off_hub(function: Callable[..., T], *args: object) -> T:
    """``function(*args)`` in a native thread when serving under gevent, else right here."""
    if not under_gevent():
        return function(*args)
    return _threads().apply(function, args)


def _threads() -> Any:
    # its own pool, one thread per core: more would only share the cores, and each Argon2 check
    # holds 64 MiB; the hub's pool stays free for gevent's own use (its DNS resolver)
    global _pool
    if _pool is None:
        from gevent.threadpool import ThreadPool

        _pool = ThreadPool(maxsize=os.cpu_count() or 2)
    return _pool
