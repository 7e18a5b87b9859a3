"""DID Registry API v5 on the embedded chain: documents, verification methods and relationships, controllers."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime

import pytest

from ebsi.client import EbsiWriteError
from tests.ebsi.kit import new_did
from verifier import keys
from verifier.ledger.ebsi import capability_invocation_addresses

DIDR = "/did-registry/v5"


def _doc(kit, did, **params):
    answer = kit.http.get(f"{DIDR}/identifiers/{did}", params=params)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/did+ld+json")
    return answer.json()


def test_a_document_is_inserted_with_its_key_as_capability_invocation(kit):
    party = kit.registered()
    doc = _doc(kit, party.did)
    vm_id = f"{party.did}#{party.client.jwk_thumbprint()}"
    assert doc["id"] == party.did and doc["controller"] == [party.did]
    assert doc["verificationMethod"] == [{"id": vm_id, "type": "JsonWebKey2020", "controller": party.did,
                                          "publicKeyJwk": party.client.public_jwk()}]
    assert doc["capabilityInvocation"] == [vm_id]
    assert capability_invocation_addresses(doc) == {party.client.address.lower(): vm_id}
    listed = kit.http.get(f"{DIDR}/identifiers").json()
    assert {"did": party.did, "href": f"http://ebsi.test{DIDR}/identifiers/{party.did}"} in listed["items"]


def test_the_inserted_key_must_be_the_signers_own(kit):
    did = new_did()
    signer = kit.client(did)
    other = kit.client()
    with pytest.raises(EbsiWriteError) as refused:
        signer.transact("did-registry", "insertDidDocument", {
            "did": did, "baseDocument": json.dumps({"@context": []}), "vMethodId": "k1",
            "publicKey": "0x" + other.public_key_uncompressed().hex(), "isSecp256k1": True}, scope="didr_invite")
    assert refused.value.problem["error"] == "DidRegistry__KeyNotSender"


def test_a_did_is_registered_once(kit):
    party = kit.registered()
    with pytest.raises(EbsiWriteError) as refused:
        kit.client(party.did).insert_did_document(party.did)
    # A registered DID gets no didr_invite token for another key: it must be its controller.
    assert refused.value.status == 403 and "does not control" in refused.value.problem["detail"]


def test_assertion_key_controllers_and_services(kit):
    party, other = kit.registered(), kit.registered()
    ed_jwk = keys.public_key_to_jwk(keys.PublicKey("Ed25519", secrets.token_bytes(32)))
    c = party.client
    c.transact("did-registry", "addVerificationMethod",
               {"did": party.did, "vMethodId": "sign-1", "publicKey": ed_jwk, "isSecp256k1": False})
    c.transact("did-registry", "addVerificationRelationship",
               {"did": party.did, "name": "assertionMethod", "vMethodId": "sign-1"})
    c.transact("did-registry", "addController", {"did": party.did, "controller": other.did})
    c.transact("did-registry", "addService", {"did": party.did, "service": {
        "id": f"{party.did}#status", "type": "StatusList", "serviceEndpoint": "https://example.org/status"}})
    doc = _doc(kit, party.did)
    assert doc["assertionMethod"] == [f"{party.did}#sign-1"]
    assert {"id": f"{party.did}#sign-1", "type": "JsonWebKey2020", "controller": party.did,
            "publicKeyJwk": ed_jwk} in doc["verificationMethod"]
    assert doc["controller"] == [party.did, other.did]
    assert doc["service"][0]["serviceEndpoint"] == "https://example.org/status"
    # A controller DID's key acts for the document: the other party now updates it.
    other.client.transact("did-registry", "revokeService", {"did": party.did, "serviceId": f"{party.did}#status"})
    assert "service" not in _doc(kit, party.did)
    # An Ed25519 key cannot invoke capabilities (control needs a secp256k1 account).
    with pytest.raises(EbsiWriteError) as refused:
        c.transact("did-registry", "addVerificationRelationship",
                   {"did": party.did, "name": "capabilityInvocation", "vMethodId": "sign-1"})
    assert refused.value.problem["error"] == "DidRegistry__NotSecp256k1"
    with pytest.raises(EbsiWriteError) as refused:
        c.transact("did-registry", "addVerificationRelationship",
                   {"did": party.did, "name": "friendOf", "vMethodId": "sign-1"})
    assert refused.value.problem["error"] == "DidRegistry__BadRelationship"


def test_a_stranger_cannot_change_a_document(kit):
    party, stranger = kit.registered(), kit.registered()
    with pytest.raises(EbsiWriteError) as refused:
        stranger.client.transact("did-registry", "addController", {"did": party.did, "controller": stranger.did})
    assert refused.value.problem["error"] == "DidRegistry__NotController"


def test_a_revoked_key_leaves_the_document_at_later_times_only(kit):
    party = kit.registered()
    second = kit.client(party.did)
    c = party.client
    c.transact("did-registry", "addVerificationMethod", {"did": party.did, "vMethodId": "k2", "isSecp256k1": True,
                                                         "publicKey": "0x" + second.public_key_uncompressed().hex()})
    c.transact("did-registry", "addVerificationRelationship",
               {"did": party.did, "name": "capabilityInvocation", "vMethodId": "k2"})
    before = kit.ledger.block_time()
    kit.chain.mine(1)
    second.transact("did-registry", "revokeVerificationMethod",
                    {"did": party.did, "vMethodId": party.client.jwk_thumbprint()})
    now_doc = _doc(kit, party.did)
    assert now_doc["capabilityInvocation"] == [f"{party.did}#k2"]
    old_doc = _doc(kit, party.did, **{"valid-at": before.strftime("%Y-%m-%dT%H:%M:%SZ")})
    assert set(old_doc["capabilityInvocation"]) == {f"{party.did}#k2", f"{party.did}#{party.client.jwk_thumbprint()}"}
    # The first key no longer controls the DID: no didr_write token for it.
    with pytest.raises(EbsiWriteError) as refused:
        kit.client(party.did, secret=party.client._secret).token(["didr_write"])
    assert refused.value.status == 403


def test_identifiers_filtered_by_controller(kit):
    a, b, c = kit.registered(), kit.registered(), kit.registered()
    a.client.transact("did-registry", "addController", {"did": a.did, "controller": c.did})
    b.client.transact("did-registry", "addController", {"did": b.did, "controller": c.did})
    listed = kit.http.get(f"{DIDR}/identifiers", params={"controller": c.did}).json()
    assert {i["did"] for i in listed["items"]} == {a.did, b.did, c.did}
    assert "controller=" in listed["self"]


def test_unknown_did_is_404_and_bad_valid_at_400(kit):
    assert kit.http.get(f"{DIDR}/identifiers/did:ebsi:znobody000000").status_code == 404
    party = kit.registered()
    bad = kit.http.get(f"{DIDR}/identifiers/{party.did}", params={"valid-at": "yesterday"})
    assert bad.status_code == 400 and "valid-at" in bad.json()["detail"]
    naive = kit.http.get(f"{DIDR}/identifiers/{party.did}", params={"valid-at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")})
    assert naive.status_code == 400 and "time zone" in naive.json()["detail"]
