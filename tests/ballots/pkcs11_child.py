"""The child half of test_pkcs11.py: an answer signed through a SoftHSM2 token. It runs in its own pytest
process (SoftHSM reads SOFTHSM2_CONF once per process), started by test_pkcs11_answer_in_a_child_process;
its name keeps it out of the suite's own collection."""

from __future__ import annotations

from typing import Any

from ecabinet import keystore
from ecabinet.database import utcnow
from tests.ballots.conftest import answers_for
from tests.ballots.test_pkcs11 import LABEL, TOKEN_PIN, _tools
from tests.conftest import assert_error


def test_pkcs11_credential_signs_an_answer(api: Any, cast: Any, make_ballot: Any, pdfsig: Any) -> None:
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
