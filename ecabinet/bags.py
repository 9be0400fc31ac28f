"""BagIt bags shipped as zip files: packing them, unpacking one safely to verify it, and the statement
that makes a bag prove itself.

BagIt manifests only catch accidents: anyone can recompute them. So each bag also carries
``data/statement.json``, signed with the Government Office key (``data/statement.sig``), naming every
other file of ``data/`` with its SHA-256, the trust roots for the signatures inside, and the facts the
bag records. A verifier trusts the office certificate (``data/office.crt.pem``) only when its SHA-256
is the one given from outside the bag (``--office-fingerprint``, ``--office-cert``, or on the server
the pinned one), or when told explicitly to trust the bag's own (``--bag-roots``).
"""

from __future__ import annotations

import hashlib
import io
import json
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bagit
from cryptography import x509

from ecabinet import office as office_key

STATEMENT, SIGNATURE, OFFICE_CERT = "statement.json", "statement.sig", "office.crt.pem"
_UNLISTED = {STATEMENT, SIGNATURE, OFFICE_CERT}


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


def _listed_files(data: Path) -> dict[str, str]:
    files = {path.relative_to(data).as_posix(): path for path in sorted(data.rglob("*")) if path.is_file()}
    return {name: hashlib.sha256(path.read_bytes()).hexdigest()
            for name, path in files.items() if name not in _UNLISTED}


def write_statement(data: Path, signer: office_key.Office, roots: list[x509.Certificate],
                    facts: dict[str, Any]) -> None:
    """Sign, with the office key, the statement of the bag whose payload directory is ``data`` (written last,
    once every other file is in place)."""
    statement = {"format": "ecabinet-bag-statement", "version": 1,
                 "issued_at": datetime.now(UTC).isoformat(timespec="seconds"), "office_sha256": signer.fingerprint,
                 "trust_roots": [office_key.certificate_pem(root) for root in roots],
                 "files": _listed_files(data), **facts}
    body = json.dumps(statement, ensure_ascii=False, indent=1, sort_keys=True).encode()
    (data / STATEMENT).write_bytes(body)
    (data / SIGNATURE).write_text(signer.sign(body) + "\n")
    (data / OFFICE_CERT).write_text(office_key.certificate_pem(signer.certificate))


@dataclass(frozen=True)
class Trust:
    """What a verifier trusts, from outside the bag."""

    #: the Government Office certificate's SHA-256 (published with `ecabinet office show`)
    office_sha256: str | None = None
    #: trust the office certificate the bag carries (the bag then vouches for itself): only on request
    bag_roots: bool = False
    #: roots for the signatures inside instead of those the statement names
    roots: list[x509.Certificate] | None = None
    #: how the anchor was chosen, for the report
    source: str = ""


@dataclass
class Statement:
    body: dict[str, Any]
    roots: list[x509.Certificate]

    @property
    def office_sha256(self) -> str:
        return str(self.body["office_sha256"])


def check_statement(data: Path, trust: Trust, result: VerifyResult) -> Statement | None:
    """The signed statement when its signature is the trusted office's and every file is the one it names;
    otherwise None with the reasons in ``result``."""
    try:
        body_bytes = (data / STATEMENT).read_bytes()
        signature = (data / SIGNATURE).read_text().strip()
        cert = x509.load_pem_x509_certificate((data / OFFICE_CERT).read_bytes())
    except (OSError, ValueError) as error:
        result.fail(f"statement: missing or unreadable ({error.__class__.__name__}): the bag does not prove itself")
        return None
    fingerprint = office_key.fingerprint(cert)
    if trust.office_sha256:
        if fingerprint != trust.office_sha256:
            result.fail(f"statement: signed by certificate {fingerprint}, not the Government Office's "
                        f"{trust.office_sha256} ({trust.source})")
            return None
    elif trust.bag_roots:
        result.lines.append(f"WARN trusting the office certificate carried in the bag ({fingerprint}): "
                            "the bag vouches for itself")
    else:
        result.fail("statement: no trust anchor: give --office-fingerprint or --office-cert "
                    "(published with `ecabinet office show`)")
        return None
    if not office_key.signature_valid(cert, body_bytes, signature):
        result.fail("statement: the office signature does not verify (the statement was changed)")
        return None
    try:
        body = json.loads(body_bytes)
        if body.get("format") != "ecabinet-bag-statement" or body.get("office_sha256") != fingerprint:
            raise ValueError("not a bag statement of this office")
        listed: dict[str, str] = body["files"]
        roots = [x509.load_pem_x509_certificate(pem.encode()) for pem in body["trust_roots"]]
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        result.fail(f"statement: unreadable ({error})")
        return None
    present = _listed_files(data)
    good = True
    for name in sorted(set(listed) | set(present)):
        if name not in present:
            result.fail(f"{name}: named in the signed statement but missing from the bag")
            good = False
        elif name not in listed:
            result.fail(f"{name}: not named in the signed statement (added)")
            good = False
        elif present[name] != listed[name]:
            result.fail(f"{name}: differs from the file the signed statement names (changed)")
            good = False
    if not good:
        return None
    result.lines.append(f"ok   statement signed by the Government Office ({fingerprint[:16]}…, {trust.source}); "
                        f"{len(listed)} files as it names them")
    return Statement(body, trust.roots if trust.roots is not None else roots)


def local_trust(fingerprint: str | None, cert_file: Path | None, bag_roots: bool,
                roots_file: Path | None = None) -> Trust:
    """The verifier's anchor: the given fingerprint or certificate; else, on a server, this deployment's pinned
    office certificate (or its office key's certificate before `init` pinned one); else none."""
    roots = x509.load_pem_x509_certificates(roots_file.read_bytes()) if roots_file is not None else None
    given = office_key.anchor_from_options(fingerprint, cert_file)
    if given:
        return Trust(office_sha256=given, roots=roots, source="the anchor given")
    if bag_roots:
        return Trust(bag_roots=True, roots=roots, source="the bag's own certificate")
    from flask import current_app, has_app_context

    if has_app_context():
        data_dir = Path(current_app.config["DATA_DIR"])
        try:
            pin = office_key.read_pin(data_dir)
        except office_key.PinDamaged:
            return Trust(roots=roots)  # a damaged pin anchors nothing: the verifier must be given one
        if pin is not None:
            return Trust(office_sha256=pin.sha256, roots=roots, source="the office certificate pinned here")
        local = office_key.load(data_dir)
        if local is not None:
            return Trust(office_sha256=local.fingerprint, roots=roots, source="this deployment's office key")
    return Trust(roots=roots)


def trust_options(command: Any) -> Any:
    """The options through which a verifier is given its trust anchor from outside the bag."""
    import click

    for option in reversed([
        click.option("--office-fingerprint", default=None,
                     help="SHA-256 of the Government Office certificate (from `ecabinet office show`)."),
        click.option("--office-cert", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
                     help="The Government Office certificate file (PEM or DER), as published."),
        click.option("--roots", "roots_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     default=None, help="Trust these root certificates (PEM) for the signatures inside, "
                                        "instead of those the signed statement names."),
        click.option("--bag-roots", is_flag=True,
                     help="Trust the office certificate carried in the bag itself (it then vouches for itself)."),
    ]):
        command = option(command)
    return command
