"""Test helpers for the signing core: the cast's record type and byte-level tampering."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography import x509

from ecabinet.signing import MESSAGES_VI, CachedKeySigner, SignatureRejected
from ecabinet.signing.keys import SigningKey

SIGNATURE_BOX = (320.0, 60.0, 560.0, 140.0)


@dataclass(frozen=True)
class Member:
    """A member of the cast with a key and a certificate from the test CA."""

    username: str
    full_name: str
    key: SigningKey
    cert: x509.Certificate
    signer: CachedKeySigner


@dataclass(frozen=True)
class SoftToken:
    """A SoftHSM2 token initialised for the session."""

    module: str
    label: str
    pin: str


def flip_byte(data: bytes, offset: int) -> bytes:
    """``data`` with the byte at ``offset`` changed to another printable byte."""
    changed = bytearray(data)
    changed[offset] = ord("Q") if changed[offset] != ord("Q") else ord("R")
    return bytes(changed)


def signed_ranges(data: bytes) -> list[range]:
    """The /ByteRange intervals of the last signature in ``data``."""
    numbers = re.findall(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", data)[-1]
    a, b, c, d = (int(n) for n in numbers)
    return [range(a, a + b), range(c, c + d)]


def expect_refusal(check: Callable[..., Any], data: bytes, code: str, **kwargs: Any) -> SignatureRejected:
    """Run ``check(data, **kwargs)`` and assert it refuses with ``code`` and its Vietnamese message."""
    with pytest.raises(SignatureRejected) as info:
        check(data, **kwargs)
    assert info.value.code == code
    assert info.value.message_vi == MESSAGES_VI[code]
    return info.value
