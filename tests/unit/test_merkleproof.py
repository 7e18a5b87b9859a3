"""The merkle-proof-2019 proofValue codec: golden Blockcerts vectors, both hash encodings, and every malformed input."""

from __future__ import annotations

import hashlib

import base58
import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verifier.errors import ProofFormatError
from verifier.merkle import PathStep, build_tree
from verifier.base58btc import b58decode, b58encode
from verifier.merkleproof import (
    BLOCKCERTS_ETH_NETWORK_LABELS,
    MAX_ANCHORS,
    MAX_PATH_STEPS,
    MAX_PROOF_VALUE_CHARS,
    Anchor,
    MerkleProof2019,
    decode_proof_value,
    encode_proof_value,
    is_merkle_proof,
    make_proof,
    parse_anchor_uri,
)

# Golden vectors ---------------------------------------------------------------------------------------------------
# A real Blockcerts v3 credential anchored on Ethereum Sepolia by cert-issuer
# (blockchain-certificates/cert-verifier-js test/fixtures/v3/ethereum-sepolia-v3.json, proof.proofValue).
SEPOLIA_CERT_ISSUER = (
    "znKD4YGVqA8texv1PrVrhripRpmtid9LqxNj8TRUKHD5dXobGcBnZcHJMY3oguH9T8YcT9MuqnzQxYYRcReoxc9vm5PhucNBqdFYwZuwNEeFT"
    "n9GoJLPqAwQSw2J2atnCuEFAqwMXstnLkSNQrEwpBAGshkH1eMhqSYh4Ut3gVHq85eSKuu2YFHeCHAXN6QW7qfAiiiS4VLSE9E9PPUDdbp3Mr"
    "DSb52gentZHJiHJHpKggxKs8GYYkqFQmr7rJ8HqVzLmwRRMAYA7TsVopawvFGtXTsbWXg6BK9jCFEPYvD3vNBvW5bVpEGvJgH"
)
SEPOLIA_ROOT = "b2c64ed78cccda992431c265a1d0bb657e8cefd14b1ef15ceadcc697c566994f"
SEPOLIA_TX = "0x1f615470024000c3ab532ed74c5a60b8f6c2feb6489a67be20f103831996f9ab"

# The Python reference's own test vector (lds-merkle-proof-2019-py tests/test_encoding.py): hex-text hashes.
PY_REFERENCE = (
    "zmz7LKNSJbePX9eJWLTaNA3X69vbLSiaJWJPVpFWznKg19Aeug3PQHFrkySKFvvGJhECwPMn947tzUFYnVMxbS428oLi5tw2HLKP9szAArV3"
    "TbfDSKXddpfV6fPBde6XN8FDbri2wGtYrgyzDXEaGu6QzzUd1GDMTcZ7c9FVFTb8k5v6crug5aLt2Sevap1gE9DS7ZUpfRMv8TQHiktNnQBG"
    "gc74g8soERFuziTDWoPGTu3Xb6bAs431DJpGGKHDenmFjkQFUJnwQ9nFKKowYnf9h8Gp8gcQmE78aoWhtEG4qV6Jaik8HhPTQX3dD7MQrXzY8"
    "GAHh8tKWQfscyGWb6w4FMpok13jBpZWpaPTVR5fMXsa1garazbMRL7xssnwEJ2gzrCDrGkFXb3JyDGoXMffAYKHUetADrCd3sZKW9k5jC5d6b"
    "MA5zSwbyeZE9BjaD27mTrJXSzguAZ1pKsghFztG5u5h6jLgBGMp2aPFopvESSnCA"
)
# The JavaScript reference's test vector (blockchain-certificates/lds-merkle-proof-2019 src/__tests__/Decoder.test.js):
# the same proof with raw 32-byte hashes.
JS_REFERENCE = (
    "z6nGv6rMRybRe9CuMzbQbdu7sA858v1d13JU3hoAr1x93cheinB35kDXqCvaA93WTLWGtLZMdQSvvNCxEMZPhLvDa4CbUYkm4pCwBe7kCZAsuwH"
    "ZwHxgyzCbRUWFbMXHhkVSHoPYmPzfi4arfHKMgKSurZ7oqe3GHRdi78TbHGvA65edK8JBEdTUt8SpCdc7wz5qiwj3THtcNAXfgK4LmCAu4fq8"
    "CnjLcMtGoEdfXfjy3turtaTapyM3katuYKAzbJF3FiE8i8NXBsiBnEbvKk7k"
)
REFERENCE_JSON = {
    "path": [
        {"right": "51b4e22ed024ec7f38dc68b0bf78c87eda525ab0896b75d2064bdb9fc60b2698"},
        {"right": "61c56cca660b2e616d0bd62775e728f50275ae44adf12d1bfb9b9c507a14766b"},
    ],
    "merkleRoot": "3c9ee831b8705f2fbe09f8b3a92247eed88cdc90418c024924be668fdc92e781",
    "targetHash": "c65c6184e3d5a945ddb5437e93ea312411fd33aa1def22b0746d6ecd4aa30f20",
    "anchors": ["blink:btc:testnet:582733d7cef8035d87cecc9ebbe13b3a2f6cc52583fbcd2b9709f20a6b8b56b3"],
}
# cert-issuer's mocknet output: a chain code of -1 and no transaction.
MOCKNET = (
    "zEuZQLZTYrdsDv2FbpkZtthsgpG54RGrfTSvyUNDGi1ecmJdY9KMtFSxbbs6pEspqa38GgXJD9ReRosEBrXsXKu4Nk7xMGnm6wfzuCUiwwBCXK"
    "rfs8e8r6a1gbyXbzifiJprkeVD9UtaVtdb5QXKHPRikuQR8F9epBejTF7MfQukr1T5U7mZ8nSuKXDJ5epzg6mCANdCFt8ZrYZiLUZGrWpd33Bf"
    "euyaJxSGYcfMgjzJGvLnoZpAXHi1MWpNFhxxuTn6BtUbivTJqQhgzUDoXaErWeMEe1z8wRR5TgzNaoULxGp"
)

SEPOLIA = 11155111
D = hashlib.sha256(b"d").digest()
TX = "0x" + "ab" * 32


def sample(path_len: int = 2, anchors: int = 1) -> MerkleProof2019:
    leaves = [hashlib.sha256(bytes([i])).digest() for i in range(2**path_len)]
    tree = build_tree(leaves)
    return MerkleProof2019(
        merkle_root=tree.root,
        target_hash=leaves[1],
        path=tree.path(1),
        anchors=tuple(Anchor("eth", SEPOLIA + i, "0x" + f"{i:02x}" * 32) for i in range(anchors)),
    )


def z(value: object) -> str:
    return "z" + base58.b58encode(cbor2.dumps(value)).decode()


def wrap(text_or_bytes: object) -> bytes:
    return cbor2.dumps(text_or_bytes)


def pairs(root=None, target=None, anchors=None, path=None) -> list:
    return [
        [3, [] if path is None else path],
        [0, wrap(D.hex()) if root is None else root],
        [1, wrap(D.hex()) if target is None else target],
        [2, [[[0, 1], [1, SEPOLIA], [2, wrap(TX)]]] if anchors is None else anchors],
    ]


# ------------------------------------------------------------------------------------------- golden vectors


def test_real_sepolia_credential_decodes():
    p = decode_proof_value(SEPOLIA_CERT_ISSUER)
    assert p.merkle_root.hex() == SEPOLIA_ROOT
    assert p.target_hash.hex() == SEPOLIA_ROOT  # a one-credential batch: root = leaf, empty path
    assert p.path == ()
    assert p.anchors == (Anchor("eth", SEPOLIA, SEPOLIA_TX),)
    assert p.anchors[0].uri("sepolia") == f"blink:eth:sepolia:{SEPOLIA_TX}"
    assert p.recomputed_root() == p.merkle_root


def test_encoder_reproduces_cert_issuer_byte_for_byte():
    p = MerkleProof2019(bytes.fromhex(SEPOLIA_ROOT), bytes.fromhex(SEPOLIA_ROOT), (), (Anchor("eth", SEPOLIA, SEPOLIA_TX),))
    assert encode_proof_value(p) == SEPOLIA_CERT_ISSUER


@pytest.mark.parametrize("vector", [PY_REFERENCE, JS_REFERENCE], ids=["hex-text", "raw-bytes"])
def test_reference_vectors_in_both_hash_encodings(vector):
    p = decode_proof_value(vector)
    assert p.to_json({3: "testnet"}) == REFERENCE_JSON
    assert p.anchors == (Anchor("btc", 3, REFERENCE_JSON["anchors"][0].rsplit(":", 1)[1]),)


def test_we_emit_the_hex_text_form():
    """Documented choice: every hash is bstr(CBOR tstr(64 lowercase hex)), as cert-issuer writes it."""
    p = sample()
    decoded = cbor2.loads(base58.b58decode(encode_proof_value(p)[1:]))
    assert [k for k, _ in decoded] == [3, 0, 1, 2]
    assert decoded[1][1] == cbor2.dumps(p.merkle_root.hex())
    assert decoded[0][1][0][1] == cbor2.dumps(p.path[0].digest.hex())
    assert decoded[3][1] == [[[0, 1], [1, SEPOLIA], [2, cbor2.dumps(p.anchors[0].tx_hash)]]]
    assert encode_proof_value(p) == encode_proof_value(decode_proof_value(encode_proof_value(p)))
    assert encode_proof_value(decode_proof_value(PY_REFERENCE)) == PY_REFERENCE


def test_mocknet_is_refused_with_reason():
    with pytest.raises(ProofFormatError, match=r"anchors\[0\] must have exactly entries 0 \(chain\), 1 \(network\), 2"):
        decode_proof_value(MOCKNET)
    no_tx_but_three = pairs(anchors=[[[0, -1], [1, -1], [2, wrap("x")]]])
    with pytest.raises(ProofFormatError, match=r"anchors\[0\] chain code must be one of \[0, 1, 2, 3, 100\].*got -1"):
        decode_proof_value(z(no_tx_but_three))


# ------------------------------------------------------------------------------------------- round trips


@settings(max_examples=50, deadline=None)
@given(
    st.integers(min_value=0, max_value=MAX_PATH_STEPS),
    st.integers(min_value=1, max_value=MAX_ANCHORS),
    st.integers(min_value=1, max_value=2**64 - 1),
    st.randoms(use_true_random=False),
)
def test_round_trip(path_len, n_anchors, chain_id, rnd):
    path = tuple(PathStep(rnd.choice(["left", "right"]), rnd.randbytes(32)) for _ in range(path_len))
    anchors = tuple(Anchor("eth", chain_id, "0x" + rnd.randbytes(32).hex()) for _ in range(n_anchors))
    p = MerkleProof2019(rnd.randbytes(32), rnd.randbytes(32), path, anchors)
    encoded = encode_proof_value(p)
    assert len(encoded) < MAX_PROOF_VALUE_CHARS
    assert decode_proof_value(encoded) == p


def test_any_chain_id_is_encoded_as_an_integer():
    p = MerkleProof2019(D, D, (), (Anchor("eth", 31337, TX), Anchor("base", 84532, TX), Anchor("eth", 1, TX)))
    decoded = cbor2.loads(base58.b58decode(encode_proof_value(p)[1:]))
    assert [a[1] for a in decoded[3][1]] == [[1, 31337], [1, 84532], [1, 1]]
    assert [a[0] for a in decoded[3][1]] == [[0, 1], [0, 3], [0, 1]]
    assert decode_proof_value(encode_proof_value(p)) == p


def test_bare_raw_digest_and_map_top_level_are_read():
    raw = {0: D, 1: D, 2: [[[0, 1], [1, SEPOLIA], [2, bytes.fromhex(TX[2:])]]], 3: [[0, D]]}
    p = decode_proof_value(z(raw))
    assert p.merkle_root == D and p.path == (PathStep("left", D),) and p.anchors[0].tx_hash == TX


def test_txid_without_0x_or_uppercase_is_normalised():
    p = decode_proof_value(z(pairs(anchors=[[[0, 1], [1, SEPOLIA], [2, wrap("AB" * 32)]]])))
    assert p.anchors[0].tx_hash == TX


def test_network_as_text_needs_a_configured_label():
    as_label = pairs(anchors=[[[0, 1], [1, wrap("sepolia")], [2, wrap(TX)]]])
    with pytest.raises(ProofFormatError, match=r"anchors\[0\] network label 'sepolia' is not configured"):
        decode_proof_value(z(as_label))
    p = decode_proof_value(z(as_label), network_labels=BLOCKCERTS_ETH_NETWORK_LABELS)
    assert p.anchors[0].network == SEPOLIA
    assert decode_proof_value(z(pairs(anchors=[[[0, 1], [1, "31337"], [2, wrap(TX)]]]))).anchors[0].network == 31337


# ------------------------------------------------------------------------------------------- malformed input

MALFORMED = {
    "not-a-string": (12, "expected a string, got int"),
    "no-multibase-z": ("u" + SEPOLIA_CERT_ISSUER[1:], "leading 'z'"),
    "empty": ("z", "not base58btc"),
    "bad-alphabet": ("z0OIl", "not base58btc"),
    "too-long": ("z" + "2" * MAX_PROOF_VALUE_CHARS, f"at most {MAX_PROOF_VALUE_CHARS} allowed"),
    "not-cbor": ("z" + base58.b58encode(b"\xff\xff").decode(), "not valid CBOR"),
    "trailing-bytes": ("z" + base58.b58encode(cbor2.dumps(pairs()) + b"\x00").decode(), "1 trailing bytes"),
    "top-level-text": (z("hello"), "expected a CBOR array of \\[key, value\\] pairs, got a text string"),
    "pair-of-three": (z([[0, wrap(D.hex()), 1]]), "entry 0 must be a \\[key, value\\] pair"),
    "unknown-key": (z(pairs() + [[7, 1]]), "entry 4 has unknown key 7"),
    "bool-key": (z([[True, wrap(D.hex())]]), "entry 0 has unknown key True"),
    "duplicate-key": (z(pairs() + [[0, wrap(D.hex())]]), "merkleRoot appears twice"),
    "missing-root-and-anchors": (z([[1, wrap(D.hex())]]), "missing merkleRoot, anchors"),
    "root-as-int": (z(pairs(root=5)), "merkleRoot must be a CBOR byte string, got int"),
    "root-31-bytes": (z(pairs(root=wrap(D[:31]))), "merkleRoot must wrap a 32-byte string or 64 hex"),
    "root-bad-hex": (z(pairs(root=wrap("zz" * 32))), "merkleRoot must wrap a 32-byte string or 64 hex"),
    "root-not-cbor-inside": (z(pairs(root=b"\xff" * 40)), "merkleRoot: not valid CBOR"),
    "target-wrapped-trailing": (z(pairs(target=wrap(D.hex()) + b"\x00")), "targetHash: 1 trailing bytes"),
    "path-not-array": (z(pairs(path=wrap(D.hex()))), "path must be an array"),
    "path-too-long": (z(pairs(path=[[0, wrap(D.hex())]] * (MAX_PATH_STEPS + 1))), f"at most {MAX_PATH_STEPS}"),
    "path-bad-side": (z(pairs(path=[[0, wrap(D.hex())], [2, wrap(D.hex())]])), "path\\[1\\] side must be 0"),
    "path-bad-hash": (z(pairs(path=[[1, wrap("00")]])), "path\\[0\\] must wrap a 32-byte string"),
    "path-item-map": (z(pairs(path=[{"left": D.hex()}])), "path\\[0\\] must be a \\[side, hash\\] pair"),
    "no-anchors": (z(pairs(anchors=[])), "anchors must be a non-empty array"),
    "too-many-anchors": (
        z(pairs(anchors=[[[0, 1], [1, SEPOLIA], [2, wrap(TX)]]] * (MAX_ANCHORS + 1))),
        f"at most {MAX_ANCHORS} allowed",
    ),
    "anchor-missing-txid": (z(pairs(anchors=[[[0, 1], [1, SEPOLIA]]])), "anchors\\[0\\] must have exactly entries"),
    "anchor-chain-unknown": (z(pairs(anchors=[[[0, 9], [1, 1], [2, wrap(TX)]]])), "chain code must be one of"),
    "anchor-chain-id-zero": (z(pairs(anchors=[[[0, 1], [1, 0], [2, wrap(TX)]]])), "EVM chain id must be in 1..2\\^64-1"),
    "anchor-network-float": (z(pairs(anchors=[[[0, 1], [1, 1.5], [2, wrap(TX)]]])), "must be an integer chain id"),
    "anchor-short-tx": (z(pairs(anchors=[[[0, 1], [1, 1], [2, wrap("0xabcd")]]])), "32-byte transaction hash"),
    "anchor-tx-int": (z(pairs(anchors=[[[0, 1], [1, 1], [2, 7]]])), "txid must be a CBOR byte string, got int"),
    "btc-network-unknown": (z(pairs(anchors=[[[0, 0], [1, 9], [2, wrap("ab" * 32)]]])), "btc network must be one of"),
    "deep-nesting": ("z" + base58.b58encode(b"\x81" * 20000 + b"\x00").decode(), "not valid CBOR"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_proof_values_are_refused_with_a_reason(case):
    value, reason = MALFORMED[case]
    with pytest.raises(ProofFormatError, match=reason):
        decode_proof_value(value)  # type: ignore[arg-type]


def test_max_length_input_decodes_quickly():
    import time

    start = time.perf_counter()
    with pytest.raises(ProofFormatError):
        decode_proof_value("z" + "2" * (MAX_PROOF_VALUE_CHARS - 1))
    assert time.perf_counter() - start < 1.0


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300))
def test_base58_codec_matches_the_base58_package(data):
    assert b58encode(data) == base58.b58encode(data).decode()
    assert b58decode(base58.b58encode(data).decode()) == data


@pytest.mark.parametrize("size", [0, 1, 33, 1200, 5000])
def test_base58_codec_on_long_and_zero_prefixed_input(size):
    data = b"\0\0" + hashlib.sha256(str(size).encode()).digest() * (size // 32) + b"\xff" * (size % 32)
    assert b58encode(data) == base58.b58encode(data).decode()
    assert b58decode(b58encode(data)) == data


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=40), st.binary(max_size=2500))
def test_base58_encode_matches_the_base58_package_with_leading_zeros(zeros, data):
    """Byte-identical to the ``base58`` package across the chunk and SWAR boundaries, leading zero bytes included."""
    data = b"\0" * zeros + data
    ours = b58encode(data)
    assert ours == base58.b58encode(data).decode()
    assert b58decode(ours) == data


@pytest.mark.parametrize("digits", [1, 2, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 511, 512, 1024, 2049])
def test_base58_at_powers_of_58(digits):
    """Values at a digit-count boundary (58**k - 1 is all 'z', 58**k is '2' then zeros) exercise every carry."""
    for n in (58**digits - 1, 58**digits, 58**digits + 1, 58 ** (digits - 1) * 57):
        data = n.to_bytes((n.bit_length() + 7) // 8, "big")
        assert b58encode(data) == base58.b58encode(data).decode()
        assert b58decode(b58encode(data)) == data
    top = 58**digits - 1
    assert b58encode(b"\0\0" + top.to_bytes((top.bit_length() + 7) // 8, "big")) == "11" + "z" * digits


def test_base58_decode_rejects_characters_outside_the_alphabet():
    for bad in ("0", "O", "I", "l", "+", "\u00e9", "2z\u0660"):
        with pytest.raises(ValueError, match="outside the base58 alphabet"):
            b58decode("2" + bad)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_only_proof_format_errors(data):
    try:
        decode_proof_value("z" + base58.b58encode(data).decode())
    except ProofFormatError:
        pass


# ------------------------------------------------------------------------------------------- anchors


def test_anchor_uri_forms():
    a = Anchor("eth", SEPOLIA, TX)
    assert a.uri() == f"blink:eth:11155111:{TX}"
    assert a.uri("sepolia") == f"blink:eth:sepolia:{TX}"
    assert parse_anchor_uri(a.uri()) == a
    assert parse_anchor_uri(a.uri("sepolia"), BLOCKCERTS_ETH_NETWORK_LABELS) == a
    assert parse_anchor_uri(f"blink:eth:devnet:{TX.upper().replace('0X', '0x')}", {"devnet": 11155111}) == a
    assert parse_anchor_uri("blink:btc:testnet:" + "ab" * 32) == Anchor("btc", 3, "ab" * 32)


@pytest.mark.parametrize(
    "uri, reason",
    [
        (f"blink:eth:sepolia:{TX}", "network 'sepolia' is neither a chain id nor a configured label"),
        (f"blank:eth:1:{TX}", "expected 'blink:<chain>:<network>:<tx hash>'"),
        (f"blink:eth:1:{TX}:extra", "expected 'blink:"),
        (f"blink:doge:1:{TX}", "chain must be one of"),
        (f"blink:eth:1:{TX[2:]}", "starts with '0x'"),
        ("blink:eth:1:0x1234", "64 lowercase hex"),
        (f"blink:eth:0:{TX}", "EVM chain id must be in"),
    ],
)
def test_bad_anchor_uris(uri, reason):
    with pytest.raises(ProofFormatError, match=reason):
        parse_anchor_uri(uri)


def test_anchor_and_proof_constructors_refuse_misuse():
    with pytest.raises(ValueError, match="0x"):
        Anchor("eth", 1, "ab" * 32)
    with pytest.raises(ValueError, match="must be an int"):
        Anchor("eth", True, TX)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="merkle_root must be 32 bytes"):
        MerkleProof2019(b"x", D, (), (Anchor("eth", 1, TX),))
    with pytest.raises(ValueError, match="anchors must be 1.."):
        MerkleProof2019(D, D, (), ())


# ------------------------------------------------------------------------------------------- proof object


def test_make_proof_shape():
    proof = make_proof(
        proof_value="zabc",
        verification_method="did:web:uni.example#anchor-1",
        created="2025-01-01T00:00:00Z",
        previous_proof="urn:uuid:1",
    )
    assert proof == {
        "type": "DataIntegrityProof",
        "cryptosuite": "merkle-proof-2019",
        "created": "2025-01-01T00:00:00Z",
        "proofPurpose": "assertionMethod",
        "verificationMethod": "did:web:uni.example#anchor-1",
        "previousProof": "urn:uuid:1",
        "proofValue": "zabc",
    }
    assert "previousProof" not in make_proof(proof_value="z1", verification_method="v", created="c", previous_proof=None)
    assert make_proof(proof_value="z1", verification_method="v", created="c", previous_proof=None, proof_id="urn:x")[
        "id"
    ] == "urn:x"
    assert is_merkle_proof(proof)


@pytest.mark.parametrize(
    "proof, expected",
    [
        ({"type": "MerkleProof2019", "proofValue": "z"}, True),
        ({"type": ["MerkleProof2019"]}, True),
        ({"type": "DataIntegrityProof", "cryptosuite": "merkle-proof-2019"}, True),
        ({"type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022"}, False),
        ({"type": "Ed25519Signature2020"}, False),
        ({}, False),
        ("MerkleProof2019", False),
    ],
)
def test_is_merkle_proof(proof, expected):
    assert is_merkle_proof(proof) is expected
