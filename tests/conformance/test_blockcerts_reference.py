"""Our merkle-proof-2019 codec against the Blockcerts reference codecs (Python and JavaScript).

What must hold (DESIGN.md "Canonical hashing and the Merkle tree"):
- the reference decoders read our proofValue back to the same root, target hash, path and anchor;
- for the same batch our proofValue is byte-identical to cert-issuer's (blockcerts-merkletools + lds-merkle-proof-2019);
- our decoder reads what the reference encoders write, in both hash encodings.
The references know only fixed networks, so anchors here use chain id 11155111 (Sepolia).
"""

from __future__ import annotations

import hashlib
import random

import pytest

from tests.conformance.reference_env import js_reference, python_reference, run_js
from verifier.merkle import build_tree, path_to_json
from verifier.merkleproof import Anchor, MerkleProof2019, decode_proof_value, encode_proof_value

SEPOLIA = 11155111
BATCH_SIZES = [1, 2, 3, 5, 8, 13, 70]

RefMerkleProof2019 = python_reference()
needs_python_reference = pytest.mark.skipif(
    RefMerkleProof2019 is None, reason="lds-merkle-proof-2019 (pinned in the test extra) is not installed"
)
try:
    from blockcerts_merkletools import MerkleTools
except ImportError:  # pragma: no cover
    MerkleTools = None
needs_merkletools = pytest.mark.skipif(MerkleTools is None, reason="blockcerts-merkletools (test extra) not installed")


def batch(n: int, seed: int) -> tuple[list[bytes], str]:
    rnd = random.Random(seed)
    leaves = [hashlib.sha256(rnd.randbytes(40)).digest() for _ in range(n)]
    return leaves, "0x" + rnd.randbytes(32).hex()


def our_proofs(n: int, seed: int):
    leaves, tx = batch(n, seed)
    tree = build_tree(leaves)
    anchor = Anchor("eth", SEPOLIA, tx)
    return leaves, tree, tx, [MerkleProof2019(tree.root, leaf, p, (anchor,)) for leaf, p in zip(leaves, tree.paths())]


def reference_decode(value: str) -> dict:
    return RefMerkleProof2019().decode(value)


# ------------------------------------------------------------------------------------------- Python reference


@needs_python_reference
@pytest.mark.parametrize("n", BATCH_SIZES)
def test_python_reference_decodes_our_proof_values(n):
    leaves, tree, tx, proofs = our_proofs(n, seed=n)
    for leaf, path, proof in zip(leaves, tree.paths(), proofs):
        decoded = reference_decode(encode_proof_value(proof))
        assert decoded == {
            "path": path_to_json(path),
            "merkleRoot": tree.root.hex(),
            "targetHash": leaf.hex(),
            "anchors": [f"blink:eth:sepolia:{tx}"],
        }


@needs_python_reference
@needs_merkletools
@pytest.mark.parametrize("n", BATCH_SIZES)
def test_byte_identical_to_cert_issuer(n):
    """cert-issuer's MerkleTreeGenerator: merkletools proof + lds-merkle-proof-2019 encode, keys in its order."""
    leaves, tree, tx, proofs = our_proofs(n, seed=100 + n)
    mt = MerkleTools(hash_type="sha256")
    mt.add_leaf([leaf.hex() for leaf in leaves])
    mt.make_tree()
    for i, proof in enumerate(proofs):
        theirs = RefMerkleProof2019().encode(
            {
                "path": mt.get_proof(i),
                "merkleRoot": mt.get_merkle_root(),
                "targetHash": mt.get_leaf(i),
                "anchors": [f"blink:eth:sepolia:{tx}"],
            }
        )
        assert encode_proof_value(proof) == theirs.decode("ascii")


@needs_python_reference
@pytest.mark.parametrize("network, chain_id", [("mainnet", 1), ("goerli", 5), ("sepolia", SEPOLIA)])
@pytest.mark.parametrize(
    "key_order", [("path", "merkleRoot", "targetHash", "anchors"), ("anchors", "targetHash", "merkleRoot", "path")]
)
def test_we_decode_python_reference_output(network, chain_id, key_order):
    leaves, tx = batch(6, seed=chain_id)
    tree = build_tree(leaves)
    source = {
        "path": path_to_json(tree.path(5)),
        "merkleRoot": tree.root.hex(),
        "targetHash": leaves[5].hex(),
        "anchors": [f"blink:eth:{network}:{tx}"],
    }
    encoded = RefMerkleProof2019().encode({k: source[k] for k in key_order}).decode("ascii")
    p = decode_proof_value(encoded)
    assert (p.merkle_root, p.target_hash, p.path) == (tree.root, leaves[5], tree.path(5))
    assert p.anchors == (Anchor("eth", chain_id, tx),)
    assert p.recomputed_root() == tree.root


# ------------------------------------------------------------------------------------------- JavaScript reference


@pytest.fixture(scope="module")
def js():
    directory, reason = js_reference()
    if directory is None:
        pytest.skip(reason)
    return run_js


@pytest.mark.node
def test_js_reference_decodes_our_proof_values(js):
    cases = []
    for n in BATCH_SIZES:
        leaves, tree, tx, proofs = our_proofs(n, 7 * n)
        cases += [(leaf, path, proof, tree, tx) for leaf, path, proof in zip(leaves, tree.paths(), proofs)]
    results = js([{"op": "decode", "value": encode_proof_value(c[2])} for c in cases])
    for (leaf, path, _, tree, tx), result in zip(cases, results):
        assert result == {
            "ok": {
                "path": path_to_json(path),
                "merkleRoot": tree.root.hex(),
                "targetHash": leaf.hex(),
                "anchors": [f"blink:eth:sepolia:{tx}"],
            }
        }


@pytest.mark.node
def test_we_decode_js_reference_output_raw_bytes_form(js):
    """The JS encoder writes raw 32-byte hashes. It hex-decodes the txid too, so '0x' must be left off for it."""
    requests, expected = [], []
    for n in BATCH_SIZES:
        leaves, tx = batch(n, seed=1000 + n)
        tree = build_tree(leaves)
        i = n - 1
        requests.append(
            {
                "op": "encode",
                "value": {
                    "path": path_to_json(tree.path(i)),
                    "merkleRoot": tree.root.hex(),
                    "targetHash": leaves[i].hex(),
                    "anchors": [f"blink:eth:sepolia:{tx[2:]}", f"blink:btc:testnet:{tx[2:]}"],
                },
            }
        )
        anchors = (Anchor("eth", SEPOLIA, tx), Anchor("btc", 3, tx[2:]))
        expected.append(MerkleProof2019(tree.root, leaves[i], tree.path(i), anchors))
    for result, want in zip(js(requests), expected):
        assert "ok" in result, result
        assert decode_proof_value(result["ok"]) == want
