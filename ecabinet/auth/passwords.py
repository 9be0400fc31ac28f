"""Password hashing with Argon2id (memory-hard).

Hashing and checking run off the gevent hub (``ecabinet.offload``): argon2's C code releases the
GIL, so a login's 0.2 s uses the other core instead of stopping every other request.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ecabinet.offload import off_hub

MIN_LENGTH = 12
MAX_LENGTH = 128
_hasher = PasswordHasher()
# Verified against when the username is unknown, so both cases cost the same time.
_DUMMY_HASH = _hasher.hash("not-a-real-password-for-timing")


def hash_password(password: str) -> str:
    return off_hub(_hasher.hash, password)


def check_password(password_hash: str | None, password: str) -> bool:
    return off_hub(_verify, password_hash or _DUMMY_HASH, password) and password_hash is not None


def _verify(password_hash: str, password: str) -> bool:
    # answers instead of raising: the thread pool would print a mismatch's traceback to the log
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
