"""Signed ballot answers: the app's whole answer path against bare pyHanko, interleaved in one run.

For P-256 and RSA-2048 members, each round times (A B A' B' C D ...):
  * bare pyHanko signing the same unsigned slip: key parsed once, signature size reserved, the same
    visible appearance (the cached-key signer of docs/PERFORMANCE.md, written here against pyHanko alone);
  * the app's ``submit_response``: render the slip, sign with the member's held key, validate
    (fail closed), store the revision, audit, queue the broadcast;
  * bare ``validate_pdf_signature`` of an externally signed slip against the app's
    ``upload_signed_slip`` of the same bytes;
  * the answer's parts alone, each against the same bare signing: the app's ``sign_pdf`` with the
    held key (goal: ≤ 1.5× bare, docs/PERFORMANCE.md), the slip's rendering, and its fail-closed validation;
  * beside the goal's baseline, bare signing that also keeps the signing-certificate-v2 attribute
    encoded as the app's signer does (the app's own overhead around a signature as cheap as its own).
The PIN unlock (PBKDF2, 600,000 rounds) is timed on its own, as is the first answer of a signing
session, which pays it.

    python -m bench.signing [--pairs 30] [--quick]

Writes bench/results/signing.json: medians and p99 of each step, and medians of per-pair ratios.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from pyhanko.pdf_utils.font.api import FontEngineFactory
from pyhanko.pdf_utils.font.opentype import GlyphAccumulatorFactory
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.sign import fields, signers
from pyhanko.sign.attributes import SigningCertificateV2Provider
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.stamp import TextStampStyle
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

from bench.common import (
    add_users,
    interleave,
    migrated_app,
    pair_ratios,
    speed_probe,
    summary,
    write_result,
)

PIN = "246810"
KEY_TYPES = ("p256", "rsa2048")
# the signature size reserved: no dry-run signature, as in the app
BYTES_RESERVED = 16384


def _asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


class BareSigner(signers.Signer):
    """pyHanko's signer with the key parsed once (SimpleSigner re-parses it for every signature).

    With ``kept_attribute`` it also keeps the signing-certificate-v2 attribute encoded, as the app's
    signer does (ecabinet.signing.signer): the baseline of that comparison, reported beside the goal's.
    """

    def __init__(self, key: Any, cert: x509.Certificate, chain: list[x509.Certificate], *,
                 kept_attribute: bool = False) -> None:
        from ecabinet.signing.signer import _ParsedSigningCertificateV2

        registry = SimpleCertificateStore()
        registry.register_multiple([_asn1(c) for c in chain])
        super().__init__(signing_cert=_asn1(cert), cert_registry=registry)
        self.key = key
        self.kept = _ParsedSigningCertificateV2(self.signing_cert) if kept_attribute else None

    def _signed_attr_providers(self, *args: Any, **kwargs: Any) -> Any:
        providers = super()._signed_attr_providers(*args, **kwargs)
        if self.kept is None:
            return providers
        return [self.kept if isinstance(p, SigningCertificateV2Provider) else p for p in providers]

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        hash_algo = get_pyca_cryptography_hash(digest_algorithm)
        if isinstance(self.key, ec.EllipticCurvePrivateKey):
            return self.key.sign(data, ec.ECDSA(hash_algo))
        assert isinstance(self.key, rsa.RSAPrivateKey)
        return self.key.sign(data, padding.PKCS1v15(), hash_algo)


def font_factory(stock: bool) -> FontEngineFactory:
    """The appearance font: pyHanko's stock factory re-reads and re-subsets the TTF for every
    signature; the baseline proper prepares it once, as it parses the key once (ecabinet.signing._font)."""
    from ecabinet.signing._font import PreparedFontFactory
    from ecabinet.signing.signer import FONT_PATH

    return GlyphAccumulatorFactory(str(FONT_PATH)) if stock else PreparedFontFactory(FONT_PATH, 9)


def bare_sign(pdf_bytes: bytes, signer: BareSigner, placement: Any, lines: list[str], reason: str,
              font: FontEngineFactory) -> bytes:
    """pyHanko's PdfSigner with the same field, box, text and font as the app's slip signature."""
    style = TextStampStyle(stamp_text="\n".join([*lines, "Thời gian ký: %(ts)s"]),
                           text_box_style=TextBoxStyle(font=font, font_size=9), border_width=1)
    meta = signers.PdfSignatureMetadata(field_name="ThanhVien", md_algorithm="sha256",
                                        subfilter=fields.SigSeedSubFilter.PADES, reason=reason, location="Hà Nội")
    pdf_signer = signers.PdfSigner(meta, signer, stamp_style=style, new_field_spec=fields.SigFieldSpec(
        sig_field_name="ThanhVien", on_page=placement.page_index, box=placement.rect))
    writer = IncrementalPdfFileWriter(BytesIO(pdf_bytes), strict=True)
    return pdf_signer.sign_pdf(writer, bytes_reserved=BYTES_RESERVED).getvalue()


def bare_validate(data: bytes, root: asn1_x509.Certificate) -> bool:
    """pyHanko's own check of a slip: parse, then ``validate_pdf_signature`` with a fresh context."""
    embedded = PdfFileReader(BytesIO(data), strict=True).embedded_signatures[0]
    status = validate_pdf_signature(embedded, ValidationContext(trust_roots=[root], allow_fetching=False))
    return bool(status.bottom_line)


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    result = action()
    return time.perf_counter() - t0, result


class Scenario:
    """Two members (one per key type) with built-in CA credentials under the production KDF, one ballot."""

    def __init__(self, data_dir: Path) -> None:
        self.app = migrated_app(data_dir)
        self.context = self.app.test_request_context()
        self.context.push()
        from ballots import pdf, service
        from ecabinet import keystore
        from ecabinet.auth.models import Role
        from ecabinet.database import utcnow

        self.pdf, self.service, self.keystore = pdf, service, keystore
        people = add_users([("secretary", "Nguyễn Văn Thư", "Chánh Văn phòng", [str(Role.SECRETARY)]),
                            ("member_p256", "Trần Đức Long", "Bộ trưởng Bộ Tài chính", [str(Role.MEMBER)]),
                            ("member_rsa2048", "Lê Thị Hoà", "Bộ trưởng Bộ Y tế", [str(Role.MEMBER)])])
        self.secretary = people[0][0]
        self.members = {"p256": people[1][0], "rsa2048": people[2][0]}
        self.bare: dict[str, BareSigner] = {}
        for key_type, user in self.members.items():
            credential = keystore.issue_credential(user, PIN, actor=None, key_type=key_type)
            key = keystore.load_private_key(credential.key_pem or b"", PIN)
            self.bare[key_type] = BareSigner(key, credential.certificate, credential.chain)
            self.bare[f"{key_type}_kept_attribute"] = BareSigner(key, credential.certificate, credential.chain,
                                                                 kept_attribute=True)
        self.root = _asn1(keystore.builtin_ca().root_certificate)
        self.ballot = service.create_ballot(
            title="Dự thảo Nghị định về chuyển đổi số quốc gia", summary="Văn phòng Chính phủ xin ý kiến.",
            questions=["Đồng ý ban hành Nghị định?", "Đồng ý hiệu lực từ ngày 01/01/2027?"],
            recipient_ids=[u.id for u in self.members.values()], deadline=utcnow() + timedelta(days=2),
            actor=self.secretary)
        service.issue_ballot(self.ballot, actor=self.secretary)
        self.answers = [{"question_id": q.id, "choice": "agree", "comment": "Thống nhất với dự thảo."}
                        for q in self.ballot.questions]

    def close(self) -> None:
        self.context.pop()

    def _slip(self, key_type: str) -> Any:
        from ecabinet.database import utcnow

        return self.pdf.render_slip(self.ballot, self.members[key_type], self.answers, utcnow())

    def bare_step(self, key_type: str, *, stock_font: bool = False, kept_attribute: bool = False
                  ) -> Callable[[], float]:
        """Bare pyHanko signing a freshly rendered slip (the render is not timed)."""
        user = self.members[key_type]
        lines = [f"Ký bởi: {user.full_name}", user.title]
        font = font_factory(stock_font)
        signer = self.bare[f"{key_type}_kept_attribute" if kept_attribute else key_type]

        def step() -> float:
            built = self._slip(key_type)
            seconds, _ = timed(lambda: bare_sign(built.pdf, signer, built.signature_boxes["member"],
                                                 lines, f"Trả lời phiếu lấy ý kiến {self.ballot.number}", font))
            return seconds
        return step

    def app_step(self, key_type: str) -> Callable[[], float]:
        def step() -> float:
            seconds, (_, created) = timed(lambda: self.service.submit_response(
                self.ballot, answers=self.answers, pin=PIN, idempotency_key=None, actor=self.members[key_type]))
            assert created
            return seconds
        return step

    def _app_sign(self, key_type: str, built: Any) -> tuple[bytes, Any]:
        """The slip signed as ``submit_response`` signs it (held key, the app's ``sign_pdf``)."""
        from ecabinet.signing import sign_pdf

        user, placement = self.members[key_type], built.signature_boxes["member"]
        with self.keystore.unlocked_signer(user, PIN) as (signer, credential):
            t0 = time.perf_counter()
            signed = sign_pdf(built.pdf, signer, field_name="ThanhVien", box=placement.rect,
                              page=placement.page_index, reason=f"Trả lời phiếu lấy ý kiến {self.ballot.number}",
                              location=self.pdf.PLACE, signer_name_text=[f"Ký bởi: {user.full_name}", user.title])
            return signed, (time.perf_counter() - t0, credential.certificate)

    def app_sign_step(self, key_type: str) -> Callable[[], float]:
        """The signing part of an answer alone (goal: ≤ 1.5× bare)."""
        def step() -> float:
            _, (seconds, _) = self._app_sign(key_type, self._slip(key_type))
            return seconds
        return step

    def app_render_step(self, key_type: str) -> Callable[[], float]:
        """The rendering part of an answer alone (ReportLab story, embedded answers)."""
        return lambda: timed(lambda: self._slip(key_type))[0]

    def app_validate_step(self, key_type: str) -> Callable[[], float]:
        """The fail-closed validation part of an answer alone, as ``submit_response`` calls it."""
        from ecabinet.signing import validate_own_signature

        def step() -> float:
            built = self._slip(key_type)
            signed, (_, cert) = self._app_sign(key_type, built)
            seconds, _ = timed(lambda: validate_own_signature(
                signed, unsigned=built.pdf, trust_roots=self.keystore.trust_roots(), signer=cert,
                crls=self.keystore.crls_for(cert)))
            return seconds
        return step

    def upload_pair(self) -> tuple[Callable[[], float], Callable[[], float]]:
        """Bare validation and the app's upload of the same externally signed slip, prepared untimed."""
        user = self.members["p256"]
        slip: dict[str, bytes] = {}
        font = font_factory(stock=False)

        def bare() -> float:
            draft = self.service.prepare_slip(self.ballot, answers=self.answers, actor=user)
            slip["data"] = bare_sign(draft.pdf, self.bare["p256"], self._slip("p256").signature_boxes["member"],
                                     [f"Ký bởi: {user.full_name}"], "Trả lời phiếu lấy ý kiến", font)
            seconds, ok = timed(lambda: bare_validate(slip["data"], self.root))
            assert ok
            return seconds

        def upload() -> float:
            seconds, (_, created) = timed(lambda: self.service.upload_signed_slip(
                self.ballot, data=slip["data"], idempotency_key=None, actor=user))
            assert created
            return seconds
        return bare, upload

    def unlock_costs(self, samples: int) -> dict[str, Any]:
        """The PIN unlock (PBKDF2) alone, the held-key check, and a session's first answer."""
        out: dict[str, Any] = {}
        for key_type, user in self.members.items():
            credential = self.keystore.active_credential(user)
            unlock = [timed(lambda c=credential: self.keystore.load_private_key(c.key_pem, PIN))[0]
                      for _ in range(samples)]
            held = []
            for _ in range(max(samples, 20)):
                t0 = time.perf_counter()
                with self.keystore.unlocked_signer(user, PIN):
                    held.append(time.perf_counter() - t0)
            first = []
            for _ in range(samples):
                self.keystore.signing_sessions().evict(credential.id)
                first.append(self.app_step(key_type)())
            out[key_type] = {"pin_unlock": summary(unlock), "held_key_pin_check": summary(held),
                             "first_answer_of_a_session": summary(first)}
        return out


def run(pairs: int, unlock_samples: int) -> dict[str, Any]:
    scenario = Scenario(Path(tempfile.mkdtemp(prefix="bench-signing-")))
    try:
        bare_validation, upload = scenario.upload_pair()
        steps = {"bare_pyhanko_p256": scenario.bare_step("p256"), "app_sign_p256": scenario.app_sign_step("p256"),
                 "app_answer_p256": scenario.app_step("p256"),
                 "bare_pyhanko_rsa2048": scenario.bare_step("rsa2048"),
                 "app_sign_rsa2048": scenario.app_sign_step("rsa2048"),
                 "app_answer_rsa2048": scenario.app_step("rsa2048"),
                 "bare_pyhanko_p256_stock_font": scenario.bare_step("p256", stock_font=True),
                 "bare_pyhanko_p256_kept_attribute": scenario.bare_step("p256", kept_attribute=True),
                 "app_render_p256": scenario.app_render_step("p256"),
                 "app_validate_p256": scenario.app_validate_step("p256"),
                 "bare_validation": bare_validation, "app_upload": upload}
        values = interleave(steps, pairs, warmup=2)
        unlock = scenario.unlock_costs(unlock_samples)
    finally:
        scenario.close()
    result: dict[str, Any] = {"steps": {name: summary(v) for name, v in values.items()}, "unlock": unlock}
    result["answers_per_second"] = {name: round(1 / result["steps"][name]["p50_ms"] * 1000, 1)
                                    for name in values if name.startswith(("app_answer", "app_upload", "bare_pyhanko"))}
    result["ratios"] = {
        "answer_vs_bare_pyhanko_p256": pair_ratios(values["app_answer_p256"], values["bare_pyhanko_p256"]),
        "answer_vs_bare_pyhanko_rsa2048": pair_ratios(values["app_answer_rsa2048"], values["bare_pyhanko_rsa2048"]),
        "sign_vs_bare_pyhanko_p256": pair_ratios(values["app_sign_p256"], values["bare_pyhanko_p256"]),
        "sign_vs_bare_pyhanko_rsa2048": pair_ratios(values["app_sign_rsa2048"], values["bare_pyhanko_rsa2048"]),
        "sign_rsa2048_vs_p256": pair_ratios(values["app_sign_rsa2048"], values["app_sign_p256"]),
        "render_vs_bare_pyhanko_p256": pair_ratios(values["app_render_p256"], values["bare_pyhanko_p256"]),
        "validate_vs_bare_pyhanko_p256": pair_ratios(values["app_validate_p256"], values["bare_pyhanko_p256"]),
        "answer_vs_bare_pyhanko_stock_font_p256": pair_ratios(values["app_answer_p256"],
                                                              values["bare_pyhanko_p256_stock_font"]),
        "answer_vs_bare_pyhanko_kept_attribute_p256": pair_ratios(values["app_answer_p256"],
                                                                  values["bare_pyhanko_p256_kept_attribute"]),
        "answer_rsa2048_vs_p256": pair_ratios(values["app_answer_rsa2048"], values["app_answer_p256"]),
        "upload_vs_bare_validation": pair_ratios(values["app_upload"], values["bare_validation"]),
    }
    targets = {"answer_vs_bare_pyhanko_p256": 1.5, "answer_vs_bare_pyhanko_rsa2048": 1.5,
               "sign_vs_bare_pyhanko_p256": 1.5, "sign_vs_bare_pyhanko_rsa2048": 1.5, "sign_rsa2048_vs_p256": 1.3,
               "answer_rsa2048_vs_p256": 1.3, "upload_vs_bare_validation": 2.0}
    result["targets"] = {name: {"at_most": limit, "met": result["ratios"][name]["median"] <= limit}
                         for name, limit in targets.items()}
    return result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=30)
    parser.add_argument("--unlock-samples", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="CI-sized: 5 pairs, 2 unlocks")
    args = parser.parse_args()
    pairs, samples = (5, 2) if args.quick else (args.pairs, args.unlock_samples)
    probe = speed_probe()
    result = run(pairs, samples)
    for name, ratio in result["ratios"].items():
        print(f"{name}: median {ratio['median']} (min {ratio['min']}, max {ratio['max']}, {ratio['pairs']} pairs)")
    write_result("signing", result, settings={"pairs": pairs, "unlock_samples": samples, "database": "sqlite",
                                              "tsa": None, "bytes_reserved_bare": BYTES_RESERVED}, probe_start=probe)
    # the figures are the output; a missed target is reported in the file, not an error of the run
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
