"""A real OpenID provider for the single sign-on tests (node's certified ``oidc-provider``, installed by
``npm ci`` in tests/identity/oidc_provider) and a person signing in at it with a plain HTTP client."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from urllib.parse import urljoin

import requests

from tests.conftest import require_service
from tests.live.harness import free_port

PROVIDER_DIR = Path(__file__).parent / "oidc_provider"
#: the app's public address in these tests: the provider sends the browser back there
PUBLIC_URL = "http://ecabinet.test"
CLIENT_ID, CLIENT_SECRET = "ecabinet", "a-client-secret-only-the-tests-know"
#: a second application at the same provider: its tokens are not for us
OTHER_CLIENT_ID, OTHER_SECRET, OTHER_REDIRECT = "other-app", "another-secret-of-the-tests", "http://other.test/cb"
#: login name at the provider -> the claims it vouches for
ACCOUNTS = {
    "anh": {"preferred_username": "Member_A", "name": "Trần Thị Anh"},
    "thu": {"preferred_username": "secretary"},
    "moi": {"preferred_username": "newcomer", "name": "Lê Văn Mới", "email": "moi@chinhphu.vn",
            "email_verified": True},
    "vo-danh": {},
}


@dataclass(frozen=True)
class Provider:
    issuer: str


def start_provider(*, app_url: str = PUBLIC_URL) -> Iterator[Provider]:
    """The provider on a free port for as long as the caller holds it (required in CI); ``app_url`` is the
    app's public address, where the provider sends browsers back."""
    node = shutil.which("node")
    installed = (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir()
    require_service(node is not None and installed,
                    "node with tests/identity/oidc_provider installed (npm ci in that folder)")
    port = free_port()
    env = {**os.environ, "OIDC_PORT": str(port), "OIDC_ACCOUNTS": json.dumps(ACCOUNTS), "OIDC_CLIENTS": json.dumps([
        {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uris": [app_url + "/login/oidc/callback"]},
        {"client_id": OTHER_CLIENT_ID, "client_secret": OTHER_SECRET, "redirect_uris": [OTHER_REDIRECT]}])}
    # its warnings go to a file: a pipe nobody reads could fill and stall the provider
    log = tempfile.TemporaryFile(mode="w+")
    process = subprocess.Popen([str(node), "provider.mjs"], cwd=PROVIDER_DIR, env=env, stdout=subprocess.PIPE,
                               stderr=log, text=True)
    try:
        assert process.stdout is not None
        ready: list[str] = []
        reader = threading.Thread(target=lambda: ready.append(process.stdout.readline()), daemon=True)
        reader.start()
        reader.join(30)
        if not ready or not ready[0].startswith("ready "):
            process.kill()
            log.seek(0)
            require_service(False, f"the OpenID provider (it said: {log.read()[-500:]!r})")
        yield Provider(issuer=ready[0].split()[1])
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
        log.close()


def sign_in(authorize_url: str, login: str, *, until: str = PUBLIC_URL) -> str:
    """A person at the provider: signs in as ``login``, consents, and is sent back; answers the address
    the provider sends the browser to (starting with ``until``)."""
    with requests.Session() as browser:
        response = browser.get(authorize_url, allow_redirects=False, timeout=10)
        for _ in range(12):
            if response.is_redirect:
                target = urljoin(response.url, response.headers["Location"])
                if target.startswith(until):
                    return target
                response = browser.get(target, allow_redirects=False, timeout=10)
                continue
            assert response.status_code == 200, response.text[:500]
            action = unescape(re.search(r'<form[^>]*action="([^"]+)"', response.text).group(1))
            fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', response.text))
            if fields.get("prompt") == "login":
                fields.update(login=login, password="any")  # noqa: S106 (the test provider's pages take any)
            response = browser.post(urljoin(response.url, action), data=fields, allow_redirects=False, timeout=10)
    raise AssertionError("the provider never sent the browser back")
