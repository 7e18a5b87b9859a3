"""verifier.keys: Multikey, did:key, JWK, EIP-55 addresses and CAIP-10 account ids."""

from __future__ import annotations

import coincurve
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from eth_account import Account

from verifier.keys import (
    KeyFormatError,
    PublicKey,
    decode_ed25519_secret,
    decode_multikey,
    did_key_document,
    did_key_from_ed25519,
    encode_multikey,
    eth_address_from_secp256k1,
    jwk_to_public_key,
    parse_blockchain_account_id,
    public_key_to_jwk,
)

TEST_SEED = bytes(range(1, 33))  # the deliberately public test key of the cross-impl vectors
TEST_DID = "did:key:z6MkneMkZqwqRiU5mJzSG3kDwzt9P8C59N4NGTfBLfSGE7c7"


def _ed25519_public(seed: bytes) -> bytes:
    return Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def test_ed25519_multikey_round_trip_and_known_value() -> None:
    public = _ed25519_public(TEST_SEED)
    assert did_key_from_ed25519(public) == TEST_DID
    assert decode_multikey(TEST_DID.removeprefix("did:key:")) == PublicKey("Ed25519", public)


def test_ed25519_secret_multikeys() -> None:
    # 64-byte form (seed || public) as @digitalbazaar/ed25519-multikey exports it
    assert decode_ed25519_secret(
        "zruzf4oNtyGQyHsWrREXtdEKZFXrs3qXtC7UhKNymfDjv2K8HLN5Pe5RCeG5nvj1FjCyGmXms1sX3bCDfJovbCTAHUX"
    ) == TEST_SEED


def test_secp256k1_multikey_is_zq3s_and_round_trips() -> None:
    priv = coincurve.PrivateKey(b"\x07" * 32)
    compressed = priv.public_key.format(compressed=True)
    encoded = encode_multikey(PublicKey("secp256k1", priv.public_key.format(compressed=False)))
    assert encoded.startswith("zQ3s")
    assert decode_multikey(encoded) == PublicKey("secp256k1", compressed)


def test_did_key_document_shape() -> None:
    doc = did_key_document(TEST_DID)
    vm_id = TEST_DID + "#" + TEST_DID.removeprefix("did:key:")
    assert doc["id"] == TEST_DID
    assert doc["verificationMethod"] == [
        {"id": vm_id, "type": "Multikey", "controller": TEST_DID, "publicKeyMultibase": TEST_DID[8:]}
    ]
    assert doc["assertionMethod"] == [vm_id]
    assert did_key_document(vm_id)["id"] == TEST_DID


def test_jwk_round_trips() -> None:
    ed = PublicKey("Ed25519", _ed25519_public(TEST_SEED))
    assert jwk_to_public_key(public_key_to_jwk(ed)) == ed
    priv = coincurve.PrivateKey(b"\x09" * 32)
    k1 = PublicKey("secp256k1", priv.public_key.format(compressed=True))
    jwk = public_key_to_jwk(k1)
    assert jwk["kty"] == "EC" and jwk["crv"] == "secp256k1"
    assert jwk_to_public_key(jwk) == k1


def test_jwk_off_curve_is_refused() -> None:
    with pytest.raises(KeyFormatError, match="not a point on the curve"):
        jwk_to_public_key({"kty": "EC", "crv": "secp256k1", "x": "A" * 43, "y": "A" * 43})


def test_eth_address_matches_eth_account() -> None:
    secret = b"\x42" * 32
    expected = Account.from_key(secret).address
    pub = coincurve.PrivateKey(secret).public_key
    assert eth_address_from_secp256k1(pub.format(compressed=True)) == expected
    assert eth_address_from_secp256k1(pub.format(compressed=False)) == expected


def test_blockchain_account_id() -> None:
    address = Account.from_key(b"\x42" * 32).address
    account = parse_blockchain_account_id(f"eip155:11155111:{address.lower()}")
    assert (account.chain_id, account.address) == (11155111, address)
    bad = address[:-1] + ("a" if address[-1] != "a" else "b")
    bad = bad[:2] + bad[2].swapcase() + bad[3:] if bad[2].isalpha() else bad.replace("a", "A", 1)
    with pytest.raises(KeyFormatError):
        parse_blockchain_account_id(f"eip155:1:{bad}" if bad != address else "eip155:1:0xZZ")
    with pytest.raises(KeyFormatError, match="expected eip155"):
        parse_blockchain_account_id("eip155:1:0x1234")


def test_bad_multikeys() -> None:
    with pytest.raises(KeyFormatError, match="starting with 'z'"):
        decode_multikey("u6Mk")
    with pytest.raises(KeyFormatError, match="unsupported Multikey codec"):
        decode_multikey("z" + "1" * 10)
