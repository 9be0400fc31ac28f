"""Several server processes starting at once on a fresh data directory share one office signer."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

WORKERS = 4


def _office_certificate(data_dir: str, start: Any) -> bytes:
    from config import TestingConfig
    from ecabinet import create_app
    from ecabinet.keystore import office_signer

    app = create_app(TestingConfig(Path(data_dir)), async_mode="threading")
    with app.app_context():
        from ecabinet.keystore import builtin_ca

        builtin_ca()
        start.wait(60)  # every worker reaches for the office key at the same moment
        return office_signer().signing_cert.dump()  # DER


def test_workers_starting_together_create_one_office_key_and_all_load_it(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        start = manager.Barrier(WORKERS)
        with context.Pool(WORKERS) as pool:
            certificates = pool.starmap(_office_certificate, [(str(tmp_path), start)] * WORKERS, chunksize=1)
    assert len(set(certificates)) == 1
    on_disk = x509.load_pem_x509_certificate((tmp_path / "ca" / "office.crt.pem").read_bytes())
    assert on_disk.public_bytes(serialization.Encoding.DER) == certificates[0]
