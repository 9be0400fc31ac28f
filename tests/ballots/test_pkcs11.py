"""An answer signed through PKCS#11 (SoftHSM2): a credential of kind pkcs11.

SoftHSM reads SOFTHSM2_CONF once per process, so the scenario runs in a child pytest with its own
token directory and never disturbs the signing library's token tests in the parent.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ecabinet import keystore
from ecabinet.database import utcnow
from ecabinet.signing import find_softhsm_module
from tests.conftest import assert_error

from .conftest import answers_for

CHILD = "ECABINET_BALLOTS_PKCS11_CHILD"
LABEL, TOKEN_PIN = "ecabinet-ballots", "246810"


def _tools() -> tuple[str, str]:
    module, util = find_softhsm_module(), shutil.which("softhsm2-util")
    if module is None or util is None:
        if os.environ.get("CI"):
            pytest.fail("softhsm2 is required in CI")
        pytest.skip("softhsm2 not installed")
    return module, util


def test_pkcs11_answer_in_a_child_process(tmp_path: Path) -> None:
    if os.environ.get(CHILD):
        pytest.skip("the parent's half")
    module, util = _tools()
    (tmp_path / "tokens").mkdir()
    conf = tmp_path / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tmp_path / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    env = {**os.environ, "SOFTHSM2_CONF": str(conf), CHILD: "1"}
    subprocess.run([util, "--init-token", "--free", "--label", LABEL, "--so-pin", "12345678",  # noqa: S603
                    "--pin", TOKEN_PIN], check=True, capture_output=True, env=env)
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-W", "error", "-p", "no:cacheprovider",  # noqa: S603
                             f"{__file__}::test_pkcs11_credential_signs_an_answer"],
                            capture_output=True, text=True, env=env, cwd=Path(__file__).parents[2], check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "1 passed" in result.stdout


def test_pkcs11_credential_signs_an_answer(api: Any, cast: Any, make_ballot: Any, pdfsig: Any) -> None:
    if not os.environ.get(CHILD):
        pytest.skip("runs in the child process started by test_pkcs11_answer_in_a_child_process")
    module, _ = _tools()
    import pkcs11
    from cryptography.hazmat.primitives import serialization
    from pkcs11 import Attribute, KeyType
    from pkcs11.util.ec import encode_ec_public_key, encode_named_curve_parameters

    key_label = f"member-b-{utcnow().timestamp()}"
    token = pkcs11.lib(module).get_token(token_label=LABEL)
    with token.open(rw=True, user_pin=TOKEN_PIN) as session:
        params = session.create_domain_parameters(
            KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")}, local=True)
        public, _ = params.generate_keypair(store=True, label=key_label)
        public_key = serialization.load_der_public_key(encode_ec_public_key(public))
    ca = keystore.builtin_ca()
    cert = ca.certify_public_key(public_key, common_name=cast.member_b.full_name, organisation="Bộ Y tế",
                                 username=cast.member_b.username)
    keystore.register_pkcs11_credential(cast.member_b, module=module, token_label=LABEL, key_label=key_label,
                                        cert=cert, chain=ca.chain, actor=cast.admin)
    ballot = make_ballot()
    body = {"answers": answers_for(ballot), "pin": "000000"}
    assert_error(api(cast.member_b).post(f"/ballots/{ballot.id}/responses", body), 403, "wrong_pin")
    assert keystore.active_credential(cast.member_b).failed_attempts == 1
    response = api(cast.member_b).post(f"/ballots/{ballot.id}/responses", {**body, "pin": TOKEN_PIN})
    assert response.status_code == 201, response.get_json()
    slip = api(cast.member_b).get(f"/ballots/{ballot.id}/responses/{response.get_json()['id']}/pdf").get_data()
    assert pdfsig(slip) == ["Signature is Valid."]
