"""C work that releases the GIL, run off the gevent hub.

In the gevent server (``ecabinet.server`` patches the standard library) a PIN's key derivation or
an Argon2 password check would stop every request for 70-200 ms; in gevent's native thread pool it
runs on the other core while the hub serves the rest. Elsewhere (tests, the CLI) it is a plain call.
The function runs outside the app and request contexts: pass it plain values only.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def _under_gevent() -> bool:
    if "gevent" not in sys.modules:
        return False
    from gevent import monkey

    return bool(monkey.is_module_patched("threading"))


def off_hub(function: Callable[..., T], *args: object) -> T:
    """``function(*args)`` in gevent's thread pool when serving under gevent, else right here."""
    if not _under_gevent():
        return function(*args)
    import gevent

    return gevent.get_hub().threadpool.apply(function, args)  # type: ignore[no-any-return]
