"""The facade broadcasts a signed transaction only if it is exactly the one it built: each difference is refused with
a problem naming the field, and nothing reaches the chain."""

from __future__ import annotations

import hashlib

import pytest
from eth_account import Account

from ebsi.client import EbsiWriteError
from verifier.ledger.ebsi import timestamp_id

ROOT = hashlib.sha256(b"batch root").digest()


def _build(writer):
    return writer.build("timestamp", "timestampHashes",
                        {"hashAlgorithmIds": [0], "hashValues": ["0x" + ROOT.hex()]})


def _resign(writer, unsigned, secret=None, **changes):
    tx = {"nonce": int(unsigned["nonce"], 16), "gasPrice": int(unsigned["gasPrice"], 16),
          "gas": int(unsigned["gasLimit"], 16), "to": unsigned["to"], "value": int(unsigned["value"], 16),
          "data": unsigned["data"], "chainId": int(unsigned["chainId"], 16), **changes}
    signed = Account.sign_transaction(tx, secret or writer._secret)
    return {"protocol": "eth", "unsignedTransaction": unsigned,
            "signedRawTransaction": "0x" + bytes(signed.raw_transaction).hex()}


def _refused(kit, writer, signed, field):
    with pytest.raises(EbsiWriteError) as refused:
        writer.send("timestamp", signed)
    problem = refused.value.problem
    assert refused.value.status == 400 and problem["field"] == field, problem
    assert problem["type"].endswith("/transaction-mismatch")
    assert kit.http.get(f"/timestamp/v4/timestamps/{timestamp_id(ROOT)}").status_code == 404  # nothing broadcast
    return problem["detail"]


def test_the_built_transaction_signed_by_its_sender_is_broadcast_once(kit):
    writer = kit.client()
    signed = writer.sign(_build(writer))
    tx_hash = writer.send("timestamp", signed)
    assert writer.wait(tx_hash).status_ok
    with pytest.raises(EbsiWriteError) as again:
        writer.send("timestamp", signed)
    assert again.value.status == 400


def test_wrong_signer(kit):
    writer, other = kit.client(), kit.client()
    detail = _refused(kit, writer, _resign(writer, _build(writer), secret=other._secret), "from")
    assert other.address in detail and writer.address in detail


def test_wrong_chain(kit):
    writer = kit.client()
    detail = _refused(kit, writer, _resign(writer, _build(writer), chainId=1), "chainId")
    assert f"chain {kit.ledger.chain_id}" in detail and "signed for chain 1" in detail


def test_wrong_method(kit):
    writer = kit.client()
    unsigned = _build(writer)
    other_method = kit.ledger.encode("Timestamp", "insertHashAlgorithm", [256, "x", "1.2", 1, "sha2-256"])
    detail = _refused(kit, writer, _resign(writer, unsigned, data="0x" + other_method.hex()), "method")
    assert "Timestamp.insertHashAlgorithm" in detail and "timestampHashes" in detail


def test_altered_arguments(kit):
    writer = kit.client()
    unsigned = _build(writer)
    altered = unsigned["data"][:-2] + ("00" if unsigned["data"][-2:] != "00" else "01")
    detail = _refused(kit, writer, _resign(writer, unsigned, data=altered), "data")
    assert "other arguments" in detail


def test_wrong_target(kit):
    writer = kit.client()
    _refused(kit, writer, _resign(writer, _build(writer), to=kit.ledger.address_of("DidRegistry")), "to")


def test_other_nonce_or_gas(kit):
    writer = kit.client()
    unsigned = _build(writer)
    _refused(kit, writer, _resign(writer, unsigned, nonce=int(unsigned["nonce"], 16) + 1), "nonce")
    _refused(kit, writer, _resign(writer, unsigned, gas=int(unsigned["gasLimit"], 16) + 1), "gasLimit")


def test_a_transaction_the_facade_did_not_build_is_refused(kit):
    writer = kit.client()
    unsigned = dict(_build(writer), nonce="0x63")
    with pytest.raises(EbsiWriteError) as refused:
        writer.send("timestamp", _resign(writer, unsigned))
    assert refused.value.status == 400 and "is not one this API built" in refused.value.problem["detail"]


def test_built_by_one_api_sent_to_another(kit):
    writer = kit.client()
    signed = writer.sign(_build(writer))
    party = kit.registered()
    with pytest.raises(EbsiWriteError) as refused:
        party.client.send("did-registry", signed)
    assert refused.value.status == 400


def test_writes_need_a_token_with_the_scope_for_the_sender(kit):
    body = {"jsonrpc": "2.0", "id": 1, "method": "timestampHashes",
            "params": [{"from": "0x" + "11" * 20, "hashAlgorithmIds": [0], "hashValues": ["0x" + ROOT.hex()]}]}
    anonymous = kit.http.post("/timestamp/v4/jsonrpc", json=body)
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"].startswith("Bearer")
    assert anonymous.headers["content-type"] == "application/problem+json"
    forged = kit.http.post("/timestamp/v4/jsonrpc", json=body, headers={"Authorization": "Bearer abc.def"})
    assert forged.status_code == 401
    writer = kit.client()
    token = writer.token(["timestamp_write"])
    other_sender = kit.http.post("/timestamp/v4/jsonrpc", json=body, headers={"Authorization": f"Bearer {token}"})
    assert other_sender.status_code == 403 and writer.address in other_sender.json()["detail"]
    tir = {"jsonrpc": "2.0", "id": 1, "method": "setAttributeData",
           "params": [{"from": writer.address, "did": "did:ebsi:zabcdefgh", "attributeId": "00" * 32,
                       "attributeData": "0x01"}]}
    wrong_scope = kit.http.post("/trusted-issuers-registry/v5/jsonrpc", json=tir,
                                headers={"Authorization": f"Bearer {token}"})
    assert wrong_scope.status_code == 403 and "tir_invite or tir_write" in wrong_scope.json()["detail"]


def test_unknown_method_and_bad_params_are_400_problems(kit):
    writer = kit.client()
    with pytest.raises(EbsiWriteError) as refused:
        writer.build("timestamp", "deleteEverything", {})
    assert refused.value.status == 400 and "timestampHashes" in refused.value.problem["detail"]
    with pytest.raises(EbsiWriteError) as refused:
        writer.build("timestamp", "timestampHashes", {"hashAlgorithmIds": [0], "hashValues": ["zz"]})
    assert "params[0].hashValues[0]" in refused.value.problem["detail"]
    not_rpc = kit.http.post("/timestamp/v4/jsonrpc", content=b"{oops", headers={"Authorization": "Bearer x"})
    assert not_rpc.status_code == 400


def test_the_ledger_proxy_is_read_only(kit):
    answer = kit.http.post("/ledger/v4/blockchains/besu", json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"})
    assert int(answer.json()["result"], 16) == kit.ledger.chain_id
    refused = kit.http.post("/ledger/v4/blockchains/besu",
                            json={"jsonrpc": "2.0", "id": 1, "method": "eth_sendRawTransaction", "params": ["0x00"]})
    assert refused.status_code == 400 and "read-only" in refused.json()["detail"]
