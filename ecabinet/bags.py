"""BagIt bags shipped as zip files: packing them, and unpacking one safely to verify it."""

from __future__ import annotations

import io
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import bagit


@dataclass
class VerifyResult:
    ok: bool = True
    lines: list[str] = field(default_factory=list)

    def fail(self, line: str) -> None:
        self.ok = False
        self.lines.append(f"FAIL {line}")


def zip_bag(root: Path) -> bytes:
    """The bag directory ``root`` as a zip, its files in a stable order."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(root.parent).as_posix())
    return buffer.getvalue()


@contextmanager
def unpacked_bag(path: Path, result: VerifyResult) -> Iterator[Path | None]:
    """The bag directory of ``path`` (a zip or a directory), or None with the reason in ``result``."""
    if not path.is_file():
        yield path
        return
    with tempfile.TemporaryDirectory() as tmp:
        try:
            with zipfile.ZipFile(path) as archive:
                unsafe = [m for m in archive.namelist() if m.startswith("/") or ".." in Path(m).parts]
                if unsafe:
                    result.fail(f"unsafe path in archive: {unsafe[0]}")
                    yield None
                    return
                archive.extractall(tmp)
        except (zipfile.BadZipFile, OSError, ValueError) as error:
            result.fail(f"not a readable zip file ({error.__class__.__name__})")
            yield None
            return
        roots = [p for p in Path(tmp).iterdir() if p.is_dir()]
        if len(roots) != 1:
            result.fail("the archive must hold exactly one bag")
            yield None
            return
        yield roots[0]


def manifest_valid(root: Path, result: VerifyResult) -> bool:
    """Check the bag's SHA-256 manifests; a failure is recorded in ``result``."""
    try:
        bagit.Bag(str(root)).validate()
    except (bagit.BagError, bagit.BagValidationError) as error:
        result.fail(f"BagIt manifest: {error}")
        return False
    result.lines.append("ok   BagIt manifest (sha256)")
    return True
