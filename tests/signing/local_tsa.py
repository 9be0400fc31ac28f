"""A loopback RFC 3161 time-stamping authority for tests (pyHanko's DummyTimeStamper over HTTP)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self

from asn1crypto import keys, tsp
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pyhanko.sign.timestamps import DummyTimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore

from ecabinet.signing.signer import to_asn1


class _LoopbackTSA:
    """An HTTP server on 127.0.0.1 that answers each POSTed request body with ``reply(body)``:
    (content type, response body), or None for a 400. ``url`` is the endpoint."""

    def __init__(self, reply: Callable[[bytes], tuple[str, bytes] | None]) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                answer = reply(self.rfile.read(int(self.headers["Content-Length"])))
                if answer is None:
                    self.send_error(400)
                    return
                content_type, body = answer
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> Self:
        """Start serving in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


class LocalTSA(_LoopbackTSA):
    """Serves real timestamp tokens signed by ``key``; ``requests`` counts the ones it answered."""

    def __init__(
        self,
        key: rsa.RSAPrivateKey,
        cert: x509.Certificate,
        chain: list[x509.Certificate],
    ) -> None:
        stamper = DummyTimeStamper(
            tsa_cert=to_asn1(cert),
            tsa_key=keys.PrivateKeyInfo.load(
                key.private_bytes(
                    serialization.Encoding.DER,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            ),
            certs_to_embed=SimpleCertificateStore.from_certs([to_asn1(c) for c in chain]),
        )
        self.requests = 0

        def reply(body: bytes) -> tuple[str, bytes] | None:
            try:
                response = stamper.request_tsa_response(tsp.TimeStampReq.load(body)).dump()
            except Exception:
                return None
            self.requests += 1
            return "application/timestamp-reply", response

        super().__init__(reply)


class BrokenTSA(_LoopbackTSA):
    """Answers every timestamp request with ``body`` (a TSA gone wrong)."""

    def __init__(self, body: bytes, content_type: str = "application/timestamp-reply") -> None:
        super().__init__(lambda _request: (content_type, body))


def closed_port_url() -> str:
    """A loopback URL nothing listens on (the port was bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/"
