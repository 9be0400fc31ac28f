"""Each library internal the code relies on (ecabinet/adapters/) behaves as used, in the version checked:
upgrading one of these libraries fails here first, and its adapter is checked again before ``PINNED``
moves."""

from __future__ import annotations

import asyncio
import hashlib
import io
import select
import uuid
from datetime import UTC, datetime, timedelta
from importlib import metadata

import flask_login
import pytest
import redis
import socketio
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from pyhanko.pdf_utils.writer import PdfFileWriter
from pyhanko.sign import signers
from pyhanko.sign.attributes import SigningCertificateV2Provider
from pypdf import PdfReader, PdfWriter
from pypdf.generic import DictionaryObject, IndirectObject, NameObject, NumberObject
from reportlab.pdfbase.pdfdoc import PDFDictionary, PDFDocument, PDFName, PDFStream
from reportlab.pdfgen.canvas import Canvas
from wsproto import WSConnection
from wsproto.connection import Connection, ConnectionType
from wsproto.events import AcceptConnection, Request
from wsproto.extensions import PerMessageDeflate

from ecabinet.adapters import (
    engineio_websocket,
    limiter_hooks,
    login_manager,
    pyhanko_signing,
    pypdf_objects,
    redis_pubsub,
    reportlab_document,
    socketio_pubsub,
)
from ecabinet.auth.login_bus import _unread_bytes
from ecabinet.signing._font import prepared_font
from ecabinet.signing.signer import FONT_PATH

PINS = {"Flask-Limiter": limiter_hooks.PINNED, "Flask-Login": login_manager.PINNED,
        "python-socketio": socketio_pubsub.PINNED, "reportlab": reportlab_document.PINNED,
        "pypdf": pypdf_objects.PINNED, "pyHanko": pyhanko_signing.PINNED, "redis": redis_pubsub.PINNED,
        **engineio_websocket.PINNED}


@pytest.mark.parametrize("distribution", sorted(PINS))
def test_the_installed_version_is_the_one_the_adapter_was_checked_against(distribution):
    assert metadata.version(distribution) == PINS[distribution]


def test_the_limiter_hooks_are_found_and_a_limit_still_holds():
    app = Flask(__name__)
    app.config["RATELIMIT_STORAGE_URI"] = "memory://"
    limiter = Limiter(key_func=get_remote_address, app=app)
    assert limiter._check_request_limit in app.before_request_funcs[None]
    assert limiter._Limiter__release_context in app.teardown_request_funcs[None]
    assert not limiter_hooks.has_app_wide_limits(limiter)
    seen = []

    @app.get("/limited")
    @limiter.limit("1 per minute")
    def limited() -> str:
        seen.append(limiter_hooks.limiter_used())
        return "ok"

    @app.get("/free")
    def free() -> str:
        seen.append(limiter_hooks.limiter_used())
        return "ok"

    limiter_hooks.skip_idle_limit_check(app, limiter)
    assert limiter._check_request_limit not in app.before_request_funcs[None]
    client = app.test_client()
    assert [client.get("/limited").status_code, client.get("/limited").status_code] == [200, 429]
    assert client.get("/free").status_code == 200
    assert seen == [True, False]


def test_the_login_manager_names_the_request_user():
    app = Flask(__name__)
    app.secret_key = "x" * 32
    manager = login_manager.LoginManager()
    manager.init_app(app)
    assert manager._update_remember_cookie not in app.after_request_funcs[None]

    class Someone(flask_login.UserMixin):
        id = 7

    manager.request_loader(lambda request: None)
    with app.test_request_context("/"):
        assert not flask_login.current_user.is_authenticated  # through the overridden _load_user
        manager.set_request_user(Someone())
        assert flask_login.current_user.id == 7


class _LocalDelivery(socketio.Manager):
    """Stands where ecabinet.realtime's SequencedDelivery stands in the Redis manager's bases."""

    def emit(self, event, data, namespace, room=None, skip_sid=None, callback=None, to=None, **kwargs):
        self.order.append(f"delivered {event} {data} {namespace} {room}")


class _Recording(socketio.PubSubManager, _LocalDelivery):
    def __init__(self) -> None:
        super().__init__(channel="test")
        self.order: list[str] = []
        self.host_id = "this-host"

    def _publish(self, data):  # the pub/sub hook a queue implements
        self.order.append(f"published {data['event']}")


def test_a_published_emit_is_delivered_here_as_the_library_would():
    manager = _Recording()
    message = socketio_pubsub.emit_message(manager, "event", {"seq": 1}, "/", "meeting:1", None)
    assert message["host_id"] == "this-host"
    socketio_pubsub.publish_then_deliver(manager, message)
    assert manager.order == ["published event", "delivered event {'seq': 1} / meeting:1"]


def test_a_message_waits_on_the_subscription_socket_until_the_subscription_reads_it(redis_queue):
    channel = f"test-adapter-{uuid.uuid4().hex}"
    with redis.Redis.from_url(redis_queue) as client, client.pubsub() as pubsub:
        pubsub.subscribe(channel)
        assert pubsub.get_message(timeout=5)["type"] == "subscribe"
        sock = redis_pubsub.socket_of(pubsub.connection)
        assert _unread_bytes(sock) == 0
        assert client.publish(channel, "forget") == 1
        assert select.select([sock], [], [], 5)[0] == [sock]
        assert _unread_bytes(sock) > 0
        assert pubsub.get_message(timeout=0)["data"] == b"forget"
        assert _unread_bytes(sock) == 0


def test_the_socketio_server_sends_an_encoded_packet():
    assert callable(socketio.Server._send_eio_packet)
    server = socketio.Server()
    sent = []
    server.eio.send_packet = lambda eio_sid, packet: sent.append((eio_sid, packet))
    socketio_pubsub.send_packet(server, "eio-1", "a packet")
    assert sent == [("eio-1", "a packet")]


def test_engineio_takes_its_websocket_class_from_the_table_the_adapter_sets():
    import engineio

    server = engineio.Server(async_mode="threading")
    assert "websocket" in server._async

    class Marker:
        pass

    engineio_websocket.use_websocket_class(server, Marker)
    assert server._async["websocket"] is Marker


def test_simple_websocket_builds_its_deflate_extension_by_the_name_the_adapter_sets():
    import simple_websocket.ws

    original = simple_websocket.ws.PerMessageDeflate
    try:
        engineio_websocket.use_deflate_extension(PerMessageDeflate)
        assert simple_websocket.ws.PerMessageDeflate is PerMessageDeflate
    finally:
        simple_websocket.ws.PerMessageDeflate = original


def test_wsproto_keeps_the_negotiated_extensions_where_the_adapter_reads_them():
    client, server = WSConnection(ConnectionType.CLIENT), WSConnection(ConnectionType.SERVER)
    server.receive_data(client.send(Request(host="example", target="/", extensions=[PerMessageDeflate()])))
    next(server.events())
    server.send(AcceptConnection(extensions=[PerMessageDeflate()]))
    [deflate] = engineio_websocket.negotiated_extensions(server.connection)
    assert isinstance(deflate, PerMessageDeflate) and deflate.enabled()
    assert engineio_websocket.negotiated_extensions(Connection(ConnectionType.SERVER)) == []


def test_pywsgi_socket_is_found_under_the_input_stream():
    class Raw:
        _sock = "the socket"

    class Stream:
        raw = Raw()

    assert engineio_websocket.pywsgi_socket(Stream()) == "the socket"
    assert engineio_websocket.pywsgi_socket(object()) is None


def test_reportlab_writes_what_is_added_to_the_canvas_document_catalog():
    out = io.BytesIO()
    canvas = Canvas(out)
    document = reportlab_document.pdf_document(canvas)
    assert isinstance(document, PDFDocument)
    reference = document.Reference(PDFStream(PDFDictionary({"Type": PDFName("ECabinetAttachment")}), b"hello"))
    document.Catalog.ECabinetProbe = reference
    document.Catalog.__NoDefault__ = [*document.Catalog.__NoDefault__, "ECabinetProbe"]
    canvas.showPage()
    canvas.save()
    catalog = PdfReader(io.BytesIO(out.getvalue())).trailer["/Root"]
    assert catalog["/ECabinetProbe"].get_object().get_data() == b"hello"


def test_pypdf_keeps_a_stream_as_stored_and_adds_an_indirect_object():
    out = io.BytesIO()
    canvas = Canvas(out, pageCompression=1)
    canvas.drawString(72, 72, "e-Cabinet")
    canvas.save()
    page = PdfReader(io.BytesIO(out.getvalue())).pages[0]
    stream = page["/Contents"].get_object()
    stored = pypdf_objects.raw_stream_data(stream)
    assert stored != stream.get_data()
    assert b"stream\r\n" + stored in out.getvalue() or b"stream\n" + stored in out.getvalue()
    writer = PdfWriter()
    reference = pypdf_objects.add_object(writer, DictionaryObject({NameObject("/N"): NumberObject(3)}))
    assert isinstance(reference, IndirectObject)
    assert writer.get_object(reference)["/N"] == 3


def test_pyhanko_embeds_the_prepared_font_as_cut_with_widths_in_glyph_space():
    font = prepared_font(FONT_PATH)
    glyphs = len(font.tt.getGlyphOrder())
    writer = PdfFileWriter()
    engine = pyhanko_signing.PreparedGlyphAccumulator(writer, font, 9, None)
    engine.shape("Nguyễn Văn Ánh")
    engine.prepare_write()
    type0 = engine.as_resource().get_object()
    cid_font = type0["/DescendantFonts"][0].get_object()
    widths = list(cid_font["/W"])
    pairs = dict(zip(widths[::2], (int(w[0]) for w in widths[1::2]), strict=True))
    assert pairs and all(width == font.widths[gid] for gid, width in pairs.items())
    program = cid_font["/FontDescriptor"].get_object()["/FontFile2"].get_object()
    assert program.encoded_data == font.compressed_program
    assert cid_font["/BaseFont"].endswith("+" + pyhanko_signing.postscript_name(font.tt))
    to_unicode = type0["/ToUnicode"].get_object().data
    assert b"<1EC5>" in to_unicode.upper()  # ễ, read back from its glyph
    assert len(font.tt.getGlyphOrder()) == glyphs  # pyHanko's subsetting left the shared font whole


def _self_signed() -> tuple[asn1_x509.Certificate, asn1_keys.PrivateKeyInfo]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "adapter test")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + timedelta(days=1))
            .sign(key, hashes.SHA256()))
    der_key = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return (asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER)),
            asn1_keys.PrivateKeyInfo.load(der_key))


def test_pyhanko_builds_the_signed_attributes_from_the_replaced_providers():
    replaced = []

    class Kept(SigningCertificateV2Provider):
        async def build_attr_value(self, dry_run: bool = False):
            replaced.append("built")
            return await super().build_attr_value(dry_run)

    class Signer(pyhanko_signing.ProviderReplacingSigner, signers.SimpleSigner):
        def replace_attribute_provider(self, provider):
            if isinstance(provider, SigningCertificateV2Provider):
                return Kept(self.signing_cert)
            return provider

    cert, key = _self_signed()
    signer = Signer(signing_cert=cert, signing_key=key, cert_registry=None)
    attributes = asyncio.run(signer.signed_attrs(hashlib.sha256(b"x").digest(), "sha256", use_pades=True))
    kinds = [attribute["type"].native for attribute in attributes]
    assert "signing_certificate_v2" in kinds and "message_digest" in kinds
    assert replaced == ["built"]
