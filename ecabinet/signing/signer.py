"""PAdES signing: a signer that keeps its key parsed, and ``sign_pdf`` for visible signatures."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from asn1crypto import cms, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.layout import BoxConstraints
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.pdf_utils.writer import BasePdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.attributes import CMSAttributeProvider, SigningCertificateV2Provider
from pyhanko.sign.general import SigningError, as_signing_certificate_v2
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko.stamp import TextStamp, TextStampStyle
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pyhanko_certvalidator.util import get_pyca_cryptography_hash, process_pss_params

from ecabinet.adapters.pyhanko_signing import ProviderReplacingSigner

from ._font import PreparedFontFactory
from .keys import SigningKey

FONT_PATH = Path(__file__).parent.parent / "fonts" / "LiberationSerif-Regular.ttf"
# Decree 30/2020 shows the signing time in Vietnam time; Vietnam has no daylight saving
VIETNAM_TIME = timezone(timedelta(hours=7))
TSA_TIMEOUT_SECONDS = 10

_CMS_OVERHEAD = 2 * 1024
_TIMESTAMP_TOKEN_ALLOWANCE = 8 * 1024


def to_asn1(cert: x509.Certificate | asn1_x509.Certificate) -> asn1_x509.Certificate:
    """Convert a ``cryptography`` certificate to the asn1crypto form pyHanko uses."""
    if isinstance(cert, asn1_x509.Certificate):
        return cert
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


class _ParsedSigningCertificateV2(SigningCertificateV2Provider):
    """The signing-certificate-v2 attribute of one certificate, encoded once and read back.

    pyHanko builds the value afresh for each signature, and asn1crypto re-encodes a built value
    (the issuer's name among it) at every one of the several dumps of the signed attributes: most
    of a signature's time. A value parsed from DER is dumped as the bytes it was read from.
    """

    def __init__(self, signing_cert: asn1_x509.Certificate) -> None:
        super().__init__(signing_cert)
        self._der = as_signing_certificate_v2(signing_cert).dump()

    async def build_attr_value(self, dry_run: bool = False) -> tsp.SigningCertificateV2:
        return tsp.SigningCertificateV2.load(self._der)


class CachedKeySigner(ProviderReplacingSigner):
    """A pyHanko signer that holds an already parsed ``cryptography`` key.

    ``SimpleSigner`` re-parses its key for every signature, which for RSA includes OpenSSL's
    36 ms key check; this one parses nothing in the signing path, and keeps its certificate's
    signing-certificate-v2 attribute encoded (``_ParsedSigningCertificateV2``).
    """

    def __init__(
        self,
        key: SigningKey,
        cert: x509.Certificate,
        chain: Sequence[x509.Certificate] = (),
    ) -> None:
        if key.public_key().public_numbers() != cert.public_key().public_numbers():  # type: ignore[union-attr]  # RSA/EC only
            raise ValueError("The private key does not match the certificate.")
        signing_cert = to_asn1(cert)
        registry = SimpleCertificateStore()
        registry.register_multiple([to_asn1(c) for c in chain])
        super().__init__(signing_cert=signing_cert, cert_registry=registry)
        self._key = key
        self._signing_certificate_v2 = _ParsedSigningCertificateV2(signing_cert)

    def replace_attribute_provider(self, provider: CMSAttributeProvider) -> CMSAttributeProvider:
        """pyHanko's providers, with the signing-certificate-v2 attribute kept encoded."""
        return self._signing_certificate_v2 if isinstance(provider, SigningCertificateV2Provider) else provider

    async def async_sign_raw(
        self, data: bytes, digest_algorithm: str, dry_run: bool = False
    ) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm)
        algo = mechanism.signature_algo
        key = self._key
        if algo == "ecdsa" and isinstance(key, ec.EllipticCurvePrivateKey):
            return key.sign(data, ec.ECDSA(get_pyca_cryptography_hash(digest_algorithm)))
        if algo == "rsassa_pkcs1v15" and isinstance(key, rsa.RSAPrivateKey):
            return key.sign(data, padding.PKCS1v15(), get_pyca_cryptography_hash(digest_algorithm))
        if algo == "rsassa_pss" and isinstance(key, rsa.RSAPrivateKey):
            pss, hash_algo = process_pss_params(mechanism["parameters"])
            return key.sign(data, pss, hash_algo)
        raise SigningError(f"Signature mechanism {algo} does not fit this key.")


def build_signer(
    key: SigningKey, cert: x509.Certificate, chain: Sequence[x509.Certificate] = ()
) -> CachedKeySigner:
    """Build a reusable signer from a parsed key, its certificate and the CA chain."""
    return CachedKeySigner(key, cert, chain)


#: pyHanko's synchronous entry points each call ``asyncio.run``; under the gevent server every
#: request greenlet shares the thread's "running loop", so a second signature or validation
#: started while one is in progress failed with "asyncio.run() cannot be called from a running
#: event loop" (27 members answering a ballot at once). One at a time per process: they are CPU
#: bound under the GIL anyway. Re-entrant for a validation run from inside a signing step.
PYHANKO_LOCK = threading.RLock()


def sign_pdf(
    pdf_bytes: bytes,
    signer: signers.Signer,
    *,
    field_name: str,
    box: tuple[float, float, float, float],
    page: int = -1,
    reason: str | None = None,
    location: str | None = None,
    signer_name_text: Sequence[str] = (),
    timestamper_url: str | None = None,
) -> bytes:
    """Sign ``pdf_bytes`` with a visible PAdES signature appended as an incremental update.

    The input stays byte-identical as the file's prefix. With ``timestamper_url`` the
    signature gets an RFC 3161 timestamp (PAdES B-T), otherwise it is B-B; when no timestamp
    can be obtained it raises :class:`TimestampUnavailable`. ``box`` is
    (x1, y1, x2, y2) in points on page index ``page`` (negative counts from the end);
    ``signer_name_text`` lines are shown above the signing time (default: the certificate's CN).
    """
    meta = signers.PdfSignatureMetadata(
        field_name=field_name,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason,
        location=location,
    )
    timestamper = (
        _TimeStamper(timestamper_url, timeout=TSA_TIMEOUT_SECONDS) if timestamper_url else None
    )
    pdf_signer = signers.PdfSigner(
        meta,
        signer,
        timestamper=timestamper,
        stamp_style=_stamp_style(tuple(signer_name_text)),
        new_field_spec=fields.SigFieldSpec(sig_field_name=field_name, on_page=page,
                                           box=box),  # type: ignore[arg-type]  # pyHanko draws at any number; its hint says int
    )
    reserved = _bytes_reserved(signer, timestamped=timestamper is not None)
    with PYHANKO_LOCK:
        try:
            output = pdf_signer.sign_pdf(_writer(pdf_bytes), bytes_reserved=reserved)
        except SigningError as e:
            if "larger than expected" not in str(e):
                raise
            # an unusually large timestamp token or chain: let pyHanko size it with a dry run
            output = pdf_signer.sign_pdf(_writer(pdf_bytes))
    return output.getvalue()


class TimestampUnavailable(Exception):
    """The timestamp authority could not be reached or gave no usable timestamp: nothing was signed."""


class _TimeStamper(HTTPTimeStamper):
    """pyHanko's HTTP client, with every failure to obtain a token raised as one error.

    pyHanko raises ``TimestampRequestError`` for a refused connection or a wrong content type,
    but asn1crypto's ``ValueError``/``TypeError``/``KeyError`` for a body it cannot parse.
    """

    async def async_timestamp(self, message_digest: bytes, md_algorithm: str) -> cms.ContentInfo:
        try:
            return await super().async_timestamp(message_digest, md_algorithm)
        except (OSError, ValueError, TypeError, KeyError) as error:
            raise TimestampUnavailable(type(error).__name__) from error


def _writer(pdf_bytes: bytes) -> IncrementalPdfFileWriter:
    return IncrementalPdfFileWriter(BytesIO(pdf_bytes), strict=True)


def _bytes_reserved(signer: signers.Signer, *, timestamped: bool) -> int:
    # sized from the certificates actually embedded, so pyHanko skips its dry-run signature
    certs = [signer.signing_cert, *signer.cert_registry]
    der = sum(len(c.dump()) for c in certs if c is not None) + _CMS_OVERHEAD
    if timestamped:
        der += _TIMESTAMP_TOKEN_ALLOWANCE
    # /Contents is hex, two characters per DER byte
    return 2 * der


_ISO_FORMAT = "%Y-%m-%dT%H:%M:%S%z"


@dataclass(frozen=True)
class _VietnamTimeStampStyle(TextStampStyle):
    """A text stamp that shows pyHanko's signing time converted to Vietnam time."""

    def create_stamp(
        self, writer: BasePdfFileWriter, box: BoxConstraints, text_params: dict
    ) -> TextStamp:
        # pyHanko formats the time it also puts in the CMS; re-render that same instant
        signed_at = datetime.strptime(text_params["ts"], _ISO_FORMAT).astimezone(VIETNAM_TIME)
        params = dict(text_params, ts=signed_at.strftime("%d/%m/%Y %H:%M:%S +07:00"))
        return TextStamp(writer=writer, style=self, box=box, text_params=params)


@lru_cache(maxsize=256)
def _stamp_style(lines: tuple[str, ...]) -> TextStampStyle:
    # '%' starts a pyHanko template field, so a literal one must be doubled;
    # without lines, pyHanko fills %(signer)s with the certificate's common name
    shown = [line.replace("%", "%%") for line in lines] or ["Ký bởi: %(signer)s"]
    text = "\n".join([*shown, "Thời gian ký: %(ts)s"])
    return _VietnamTimeStampStyle(
        stamp_text=text,
        timestamp_format=_ISO_FORMAT,
        text_box_style=TextBoxStyle(font=PreparedFontFactory(FONT_PATH, 9), font_size=9),
        border_width=1,
    )
