"""Password hashing with Argon2id (memory-hard), and the choice of a password (NIST SP 800-63B 5.1.1.2).

Hashing and checking run off the gevent hub (``ecabinet.offload``): argon2's C code releases the
GIL, so a login's 0.2 s uses the other core instead of stopping every other request.

A new password needs 12 to 128 characters and must not be a known one: on the list of common
passwords shipped by the pinned ``zxcvbn`` package (30,000 passwords seen in breaches, MIT licence),
a run of one repeated block ("aaaaaaaaaaaa", "abcabcabcabc"), a keyboard or alphabet sequence, or the
account's own username or the service's name. No composition rules: SP 800-63B forbids them.
"""

from __future__ import annotations

import functools
import unicodedata

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import lazy_gettext as _l

from ecabinet.errors import Invalid
from ecabinet.offload import off_hub

MIN_LENGTH = 12
MAX_LENGTH = 128
_hasher = PasswordHasher()
# Verified against when the username is unknown, so both cases cost the same time.
_DUMMY_HASH = _hasher.hash("not-a-real-password-for-timing")

_SEQUENCES = ("abcdefghijklmnopqrstuvwxyz", "0123456789", "qwertyuiopasdfghjklzxcvbnm", "1qaz2wsx3edc4rfv5tgb",
              "qazwsxedcrfvtgbyhnujmikolp")
_SERVICE_WORDS = ("ecabinet", "e-cabinet", "chinhphu", "phonghop")

PASSWORD_MESSAGES = {
    "password_too_short": _l("The password must have at least 12 characters."),
    "password_too_long": _l("The password must have at most 128 characters."),
    "password_common": _l("This password is too common: it appears on lists of breached passwords. Choose another."),
    "password_predictable": _l("This password is too easy to guess (a repeated or sequential run, your username or "
                               "the service's name). Choose another."),
}


class WeakPassword(Invalid):
    """A new password refused by the rules above; ``code`` says which one."""

    default_code = "password_too_short"

    @property
    def message(self) -> str:
        return str(PASSWORD_MESSAGES[self.code])


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


def validate_new_password(password: str, *, username: str = "") -> None:
    """Refuse a password a member may not choose (raises WeakPassword with the reason's code)."""
    # counted in characters as the member typed them (SP 800-63B: Unicode counts as one each)
    length = len(unicodedata.normalize("NFC", password))
    if length < MIN_LENGTH:
        raise WeakPassword("password_too_short", fields={"password": "password_too_short"})
    if length > MAX_LENGTH:
        raise WeakPassword("password_too_long", fields={"password": "password_too_long"})
    folded = password.casefold()
    if folded in common_passwords():
        raise WeakPassword("password_common", fields={"password": "password_common"})
    if _predictable(folded, username.casefold()):
        raise WeakPassword("password_predictable", fields={"password": "password_predictable"})


@functools.cache
def common_passwords() -> frozenset[str]:
    """The breached-password list shipped by zxcvbn (loaded once, about 2 MB)."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(word.casefold() for word in FREQUENCY_LISTS["passwords"])


def _predictable(folded: str, username: str) -> bool:
    compact = "".join(ch for ch in folded if not ch.isspace() and ch not in "-_.")
    if len(compact) < MIN_LENGTH // 2:
        return True
    for size in range(1, len(compact) // 2 + 1):
        if len(compact) % size == 0 and compact[:size] * (len(compact) // size) == compact:
            return True
    for sequence in _SEQUENCES:
        if compact in sequence * 3 or compact in sequence[::-1] * 3:
            return True
    words = [word for word in (username, *_SERVICE_WORDS) if len(word) >= 4]
    return any(word in folded and len(folded) - len(word) < MIN_LENGTH // 2 for word in words)
