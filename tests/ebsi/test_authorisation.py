"""The token service standing in for EBSI's Authorisation API: who gets which scope, and what a request must be."""

from __future__ import annotations

import base64
import json
import time

import pytest

from ebsi.client import EbsiWriteError
from tests.ebsi.kit import EbsiKit, new_did

TOKEN = "/authorisation/v4/token"


def _ask(kit, vp_token, scope="openid timestamp_write", grant_type="vp_token"):
    return kit.http.post(TOKEN, data={"grant_type": grant_type, "scope": scope, "vp_token": vp_token})


def _tamper(jws: str, **claims) -> str:
    header, payload, signature = jws.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=="))
    data.update(claims)
    return header + "." + base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode() + "." + signature


def test_a_registered_did_gets_write_scopes(kit):
    party = kit.registered()
    answer = _ask(kit, party.client.token_request(), scope="openid tir_write didr_write timestamp_write")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["token_type"] == "Bearer" and 0 < body["expires_in"] <= 900
    assert body["scope"].split() == ["openid", "didr_write", "timestamp_write", "tir_write"]


def test_an_unregistered_did_may_only_register_itself(kit):
    newcomer = kit.client(new_did())
    assert _ask(kit, newcomer.token_request(), scope="openid didr_invite").status_code == 200
    refused = _ask(kit, newcomer.token_request(), scope="openid tir_write")
    assert refused.status_code == 403 and "didr_invite" in refused.json()["detail"]


def test_closed_onboarding_refuses_strangers():
    kit = EbsiKit(onboarding="closed")
    stranger = kit.client(new_did())
    refused = _ask(kit, stranger.token_request(), scope="openid didr_invite")
    assert refused.status_code == 403 and "grantable: none" in refused.json()["detail"]
    account = kit.client()
    assert _ask(kit, account.token_request()).status_code == 403
    # The admin's account gets every scope whatever the policy.
    assert _ask(kit, kit.admin.token_request(), scope="openid tir_write timestamp_write").status_code == 200


def test_a_request_is_signed_current_addressed_here_and_used_once(kit):
    writer = kit.client()
    request = writer.token_request()
    assert _ask(kit, request).status_code == 200
    replay = _ask(kit, request)
    assert replay.status_code == 401 and "already used" in replay.json()["detail"]
    forged = _ask(kit, _tamper(writer.token_request(), iss=f"eip155:{kit.ledger.chain_id}:{'0x' + '22' * 20}"))
    assert forged.status_code == 401 and "signature" in forged.json()["detail"]
    elsewhere = _ask(kit, writer.token_request(audience="https://api-pilot.ebsi.eu/authorisation/v4/token"))
    assert elsewhere.status_code == 401 and "aud" in elsewhere.json()["detail"]
    # A request with a lifetime over 5 minutes is refused even when properly signed.
    long_lived = _ask(kit, writer.token_request(lifetime=3600))
    assert long_lived.status_code == 401 and "not current" in long_lived.json()["detail"]
    assert _ask(kit, "not.a.jws").status_code == 401
    assert _ask(kit, writer.token_request(), grant_type="password").status_code == 400
    assert _ask(kit, writer.token_request(), scope="openid admin_everything").status_code == 400


def test_an_account_subject_must_be_the_signing_key(kit):
    writer = kit.client(subject=f"eip155:{0}:{'0x' + '33' * 20}")
    refused = _ask(kit, writer.token_request())
    assert refused.status_code == 403 and "not the account of the signing key" in refused.json()["detail"]


def test_an_expired_token_is_refused(kit):
    writer = kit.client()
    token = writer.token(["timestamp_write"])
    tokens = kit.app.state.tokens
    assert tokens.check(f"Bearer {token}").address == writer.address
    with pytest.raises(Exception) as expired:
        tokens.check(f"Bearer {token}", now=int(time.time()) + 10_000)
    assert "expired" in str(expired.value)


def test_the_client_reports_the_facades_problem(kit):
    with pytest.raises(EbsiWriteError) as refused:
        kit.client(new_did()).token(["tir_write"])
    assert refused.value.status == 403 and refused.value.problem["status"] == 403
