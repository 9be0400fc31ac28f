"""What a forger does to an exported bag, for the verifiers' refusal tests."""

from __future__ import annotations

import json
from pathlib import Path

import bagit
from flask import current_app

from ecabinet import keystore, office
from ecabinet.bags import STATEMENT, write_statement

_STATED_BY_WRITER = {"format", "version", "issued_at", "office_sha256", "trust_roots", "files"}


def resave(root: Path) -> None:
    """Recompute the BagIt manifests: anyone can."""
    bagit.Bag(str(root)).save(manifests=True)


def restate(root: Path, **changes: object) -> None:
    """Sign the bag's statement again for its current files (with ``changes`` to its facts): a forger
    holding the office key itself, so that what the verifier checks beyond the statement is exercised."""
    data = root / "data"
    body = json.loads((data / STATEMENT).read_text(encoding="utf-8"))
    facts = {key: value for key, value in body.items() if key not in _STATED_BY_WRITER}
    write_statement(data, office.ensure(current_app.config["DATA_DIR"]), keystore.trust_roots(),
                    {**facts, **changes})
    resave(root)
