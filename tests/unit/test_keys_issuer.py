"""The issuer's key file and DID document: clean errors on a bad key file or DID, one anchoring method per chain."""

from __future__ import annotations

import json

import pytest

from issuer.errors import InputFileError, OptionError
from issuer.keys import check_issuer_did, load_or_create_identity, new_identity
from verifier import keys as vkeys

DID = "did:web:www.tu-example.de"


def test_a_corrupt_key_file_is_an_input_file_error_naming_it(tmp_path):
    path = tmp_path / "keys.json"
    path.write_text("{not json", "utf-8")
    with pytest.raises(InputFileError) as info:
        load_or_create_identity(path, DID)
    assert info.value.path == str(path)
    assert str(info.value) == f"{path}: unreadable issuer key file (JSONDecodeError)"


def test_a_key_file_of_another_did_is_an_input_file_error_naming_both(tmp_path):
    path = tmp_path / "keys.json"
    load_or_create_identity(path, "did:web:other.example")
    with pytest.raises(InputFileError) as info:
        load_or_create_identity(path, DID)
    assert info.value.reason == f"holds the keys of did:web:other.example, not of {DID}; use another --data-dir"


@pytest.mark.parametrize("did", ["did:ebsi:zvHWX359A3CvfJnCYaAiAde", "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
                                 "did:web:", "https://tu-example.de", ""])
def test_only_a_did_web_is_accepted_and_no_key_file_is_created_for_another(tmp_path, did):
    path = tmp_path / "issuer" / "keys.json"
    with pytest.raises(OptionError) as info:
        load_or_create_identity(path, did)
    assert repr(did) in str(info.value) and "did:web" in str(info.value)
    assert not path.exists() and not path.parent.exists()
    with pytest.raises(OptionError):
        check_issuer_did(did)
    with pytest.raises(OptionError):
        new_identity(did)


def test_the_did_document_binds_the_anchoring_address_once_per_chain():
    identity = new_identity(DID)
    doc = identity.did_document([5, 1, 5])
    anchors = doc["verificationMethod"][1:]
    assert [m["id"] for m in anchors] == [f"{DID}#anchor-eip155-1", f"{DID}#anchor-eip155-5"]
    assert [m["blockchainAccountId"] for m in anchors] == [f"eip155:{c}:{identity.anchoring_address}" for c in (1, 5)]
    for m in anchors:
        assert m["type"] == "EcdsaSecp256k1VerificationKey2019" and m["controller"] == DID
        assert vkeys.jwk_to_public_key(m["publicKeyJwk"]).raw == identity.secp256k1_public
    assert doc["assertionMethod"] == [f"{DID}#key-1", f"{DID}#anchor-eip155-1", f"{DID}#anchor-eip155-5"]
    assert identity.anchoring_method(5) == f"{DID}#anchor-eip155-5"
    assert identity.did_document(7) == identity.did_document([7])
    assert [m["id"] for m in identity.did_document(None)["verificationMethod"]] == [f"{DID}#key-1"]


def test_bound_chains_reads_back_only_this_identitys_address_on_this_did():
    identity = new_identity(DID)
    doc = json.loads(json.dumps(identity.did_document([1, 31337])))
    assert identity.bound_chains(doc) == {1, 31337}
    assert new_identity(DID).bound_chains(doc) == set()  # another key of the same DID binds nothing of ours
    assert identity.bound_chains({**doc, "id": "did:web:other.example"}) == set()
    doc["verificationMethod"][1]["blockchainAccountId"] = "eip155:not-a-chain"
    assert identity.bound_chains(doc) == {31337}
    assert identity.bound_chains("not a document") == set()


def test_a_did_key_identity_has_no_anchoring_method():
    identity = new_identity(None)
    assert identity.did.startswith("did:key:")
    assert identity.anchoring_method(1) is None
