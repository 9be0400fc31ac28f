"""Fixtures for the signing core: a CA in a temp dir, a named cast with keys, PDFs, a TSA."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from io import BytesIO
from typing import Any

import pytest
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from ecabinet.signing import (
    BuiltinCA,
    SignatureRejected,
    ValidationReport,
    build_signer,
    find_softhsm_module,
    sign_pdf,
    validate_signed_pdf,
)
from ecabinet.signing.signer import FONT_PATH

from .helpers import SIGNATURE_BOX, Member, SoftToken, expect_refusal
from .local_tsa import LocalTSA


@pytest.fixture(scope="session")
def ca(tmp_path_factory: pytest.TempPathFactory) -> BuiltinCA:
    return BuiltinCA.create_or_load(tmp_path_factory.mktemp("ca"), organisation="Chính phủ")


@pytest.fixture(scope="session")
def other_ca(tmp_path_factory: pytest.TempPathFactory) -> BuiltinCA:
    """A CA nobody trusts."""
    return BuiltinCA.create_or_load(tmp_path_factory.mktemp("other-ca"), organisation="Mạo danh")


@pytest.fixture(scope="session")
def issue(ca: BuiltinCA) -> Callable[..., Member]:
    """Issue a member certificate: ``issue(username, full_name=..., key_type=..., **ca_kwargs)``."""

    def _issue(
        username: str,
        *,
        full_name: str = "Nguyễn Văn Thử",
        key_type: str = "p256",
        authority: BuiltinCA | None = None,
        **kwargs: Any,
    ) -> Member:
        key, cert = (authority or ca).issue_signing_certificate(
            common_name=full_name,
            organisation="Văn phòng Chính phủ",
            title="Bộ trưởng",
            username=username,
            key_type=key_type,  # type: ignore[arg-type]
            **kwargs,
        )
        return Member(
            username, full_name, key, cert, build_signer(key, cert, (authority or ca).chain)
        )

    return _issue


@pytest.fixture(scope="session")
def member_a(issue: Callable[..., Member]) -> Member:
    return issue("member_a", full_name="Nguyễn Văn Ánh")


@pytest.fixture(scope="session")
def member_b(issue: Callable[..., Member]) -> Member:
    return issue("member_b", full_name="Lê Thị Bích")


@pytest.fixture(scope="session")
def secretary(issue: Callable[..., Member]) -> Member:
    return issue("secretary", full_name="Phạm Thư Ký")


@pytest.fixture(scope="session")
def chair(issue: Callable[..., Member]) -> Member:
    return issue("chair", full_name="Trần Đức Chủ Tọa", key_type="rsa2048")


@pytest.fixture(scope="session")
def make_pdf() -> Callable[..., bytes]:
    """Build a PDF with ReportLab and an embedded TTF: ``make_pdf(text, pages=1)``."""
    pdfmetrics.registerFont(TTFont("LiberationSerif", str(FONT_PATH)))

    def _make(text: str = "Phiếu lấy ý kiến thành viên Chính phủ", pages: int = 1) -> bytes:
        buf = BytesIO()
        pdf = canvas.Canvas(buf, pagesize=A4, invariant=True)
        for number in range(1, pages + 1):
            pdf.setFont("LiberationSerif", 14)
            pdf.drawString(72, 770, text)
            pdf.drawString(72, 740, f"Trang {number}: Đồng ý / Không đồng ý / Ý kiến khác")
            pdf.showPage()
        pdf.save()
        return buf.getvalue()

    return _make


@pytest.fixture(scope="session")
def ballot_pdf(make_pdf: Callable[..., bytes]) -> bytes:
    return make_pdf()


@pytest.fixture(scope="session")
def sign() -> Callable[..., bytes]:
    """``sign(pdf, member, field_name="Sig1", **sign_pdf_kwargs)`` with the member's name shown."""

    def _sign(pdf: bytes, member: Member, field_name: str = "Sig1", **kwargs: Any) -> bytes:
        kwargs.setdefault("box", SIGNATURE_BOX)
        kwargs.setdefault(
            "signer_name_text", [f"Ký bởi: {member.full_name}", "Văn phòng Chính phủ"]
        )
        return sign_pdf(pdf, member.signer, field_name=field_name, **kwargs)

    return _sign


@pytest.fixture(scope="session")
def signed_ballot(ballot_pdf: bytes, member_a: Member, sign: Callable[..., bytes]) -> bytes:
    return sign(ballot_pdf, member_a, reason="Biểu quyết", location="Hà Nội")


@pytest.fixture(scope="session")
def validate(ca: BuiltinCA) -> Callable[..., ValidationReport]:
    """``validate(data, **kwargs)`` trusting the test CA unless ``trust_roots`` is given."""

    def _validate(data: bytes, **kwargs: Any) -> ValidationReport:
        kwargs.setdefault("trust_roots", [ca.root_certificate])
        return validate_signed_pdf(data, **kwargs)

    return _validate


@pytest.fixture(scope="session")
def assert_rejected(validate: Callable[..., ValidationReport]) -> Callable[..., SignatureRejected]:
    """Validate and check the refusal code and its Vietnamese message."""

    return lambda data, code, **kwargs: expect_refusal(validate, data, code, **kwargs)



@pytest.fixture(scope="session")
def tsa(ca: BuiltinCA) -> Iterator[LocalTSA]:
    key, cert = ca.issue_tsa_certificate()
    server = LocalTSA(key, cert, ca.chain).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def softhsm() -> Iterator[SoftToken]:
    """A fresh SoftHSM2 token in the run's token directory (SOFTHSM2_CONF, set in tests/conftest.py)."""
    module = _required(find_softhsm_module(), "softhsm2")
    util = _required(shutil.which("softhsm2-util"), "softhsm2")
    token = SoftToken(module, f"ecabinet-test-{os.getpid()}", "123456")
    subprocess.run(
        [util, "--init-token", "--free", "--label", token.label, "--so-pin", "12345678", "--pin", token.pin],
        check=True,
        capture_output=True,
    )
    return token


def _required(path: str | None, package: str) -> str:
    """``path``, or skip the test (fail it under CI) when the Debian package is missing."""
    if path is None:
        if os.environ.get("CI"):
            raise pytest.fail.Exception(f"{package} is required in CI (apt-get install {package})")
        raise pytest.skip.Exception(f"{package} is not installed (apt-get install {package})")
    return path
