"""Content-addressed files under DATA_DIR/files/ab/cd/<sha256>, written atomically.

A crash never leaves a half-written file under its final name: the bytes go to a temporary file in
the same directory, are fsynced, renamed into place, and the directory is fsynced too.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from flask import current_app


def _root() -> Path:
    return Path(current_app.config["DATA_DIR"]) / "files"


def path_for(sha256: str) -> Path:
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError("not a sha256 hex digest")
    return _root() / sha256[:2] / sha256[2:4] / sha256


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def put(data: bytes) -> str:
    """Store ``data`` once; return its sha256 (the file name)."""
    sha256 = hashlib.sha256(data).hexdigest()
    target = path_for(sha256)
    if target.exists():
        return sha256
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)
    return sha256


def get(sha256: str) -> bytes:
    return path_for(sha256).read_bytes()
