"""Interop of a real issued batch: anvil as Sepolia (chain id 11155111), read by the Blockcerts reference tools.

The example batch goes through the real issuer path (issue_batch + EvmWriter over HTTP); then, for every credential:
- the reference Python decoder (PyPI ``lds-merkle-proof-2019``, what cert-issuer uses) reads its merkle-proof-2019
  ``proofValue`` back to our merkleRoot, targetHash, path and ``blink:eth:sepolia:<the real tx hash>``;
- Blockcerts' maintained Merkle tree (PyPI ``blockcerts-merkletools``) rebuilds the same root, and the same path for
  each leaf, from the target hashes;
- our verifier reports the batch verified against the node.
Chain id 11155111 is the only EVM chain the reference decoder knows besides mainnet, ropsten and goerli
(DESIGN.md "Anchors": a devnet with this chain id reads as ``sepolia`` to Blockcerts tools).
"""

from __future__ import annotations

import pytest
from eth_account import Account

from issuer.ledger.devnet import fund_from_dev_account
from issuer.ledger.evm import EvmWriter, ensure_registry
from tests.batchkit import issue_example_batch
from tests.conformance.reference_env import python_reference
from verifier.ledger.evm import EvmReader, HttpTransport
from verifier.merkle import path_to_json
from verifier.merkleproof import decode_proof_value, is_merkle_proof
from verifier.report import Verdict

pytestmark = pytest.mark.devnet

SEPOLIA = 11155111
RefMerkleProof2019 = python_reference()
try:
    from blockcerts_merkletools import MerkleTools
except ImportError:  # pragma: no cover - both are pinned in the test extra
    MerkleTools = None


@pytest.fixture
def sepolia_batch(devnet_factory, tmp_path):
    if RefMerkleProof2019 is None or MerkleTools is None:
        pytest.skip("lds-merkle-proof-2019 and blockcerts-merkletools (test extra) are needed")
    node = devnet_factory(chain_id=SEPOLIA)
    node.start()
    w3 = node.web3()
    registry: dict[str, str] = {}

    def writer(identity):
        account = Account.from_key(identity.secp256k1_secret)
        fund_from_dev_account(w3, account.address, 10**18)
        registry["address"] = ensure_registry(w3, account, node.data_dir / "registry.json")
        return EvmWriter(w3, account, registry_address=registry["address"], poll_interval=0.05)

    transport = HttpTransport(node.rpc_url)
    reader = EvmReader(transport, chain_id=SEPOLIA, registry_address=None)
    batch = issue_example_batch(tmp_path / "out", writer, chain_id=SEPOLIA, reader=reader)
    # The reader needs the registry the writer deployed; it is only known once the writer ran.
    batch.reader = EvmReader(transport, chain_id=SEPOLIA, registry_address=registry["address"])
    batch.transport = transport  # type: ignore[attr-defined]  # for raw JSON-RPC reads in the tests
    yield batch
    transport.close()


def _merkle_proof(credential: dict) -> dict:
    proofs = credential["proof"] if isinstance(credential["proof"], list) else [credential["proof"]]
    (proof,) = [p for p in proofs if is_merkle_proof(p)]
    return proof


def test_reference_decoder_reads_every_issued_proof(sepolia_batch):
    batch = sepolia_batch
    receipt = batch.result.receipt
    assert receipt.chain_id == SEPOLIA and receipt.tx_hash.startswith("0x") and len(receipt.tx_hash) == 66
    # The transaction is real: the node has it, mined in the reported block, sent by the issuer's anchoring key.
    tx = batch.transport.request("eth_getTransactionByHash", [receipt.tx_hash])
    assert tx["hash"].lower() == receipt.tx_hash and int(tx["blockNumber"], 16) == receipt.block_number
    issuer_address = Account.from_key(batch.identity.secp256k1_secret).address
    assert tx["from"].lower() == issuer_address.lower() == receipt.sender.lower()

    assert batch.result.count == len(batch.result.files) == 28
    root = batch.result.merkle_root.hex()
    decoded_all = []
    for i in range(batch.result.count):
        proof_value = _merkle_proof(batch.credential(i))["proofValue"]
        theirs = RefMerkleProof2019().decode(proof_value)
        ours = decode_proof_value(proof_value)
        assert theirs == {
            "path": path_to_json(ours.path),
            "merkleRoot": root,
            "targetHash": ours.target_hash.hex(),
            "anchors": [f"blink:eth:sepolia:{receipt.tx_hash}"],
        }, f"credential {i}"
        assert ours.merkle_root == batch.result.merkle_root and ours.recomputed_root() == batch.result.merkle_root
        decoded_all.append(theirs)
    # 28 different learners: 28 different leaves, each proof with its own path.
    assert len({d["targetHash"] for d in decoded_all}) == 28
    assert max(len(d["path"]) for d in decoded_all) == 5  # ceil(log2(28)); promoted odd nodes have shorter paths

    # blockcerts-merkletools, from the leaves alone: the same root, and the same path for every leaf.
    tools = MerkleTools(hash_type="sha256")
    tools.add_leaf([d["targetHash"] for d in decoded_all])
    tools.make_tree()
    assert tools.get_merkle_root() == root
    for i, d in enumerate(decoded_all):
        assert tools.get_proof(i) == d["path"], f"path of leaf {i}"


def test_our_verifier_verifies_the_sepolia_batch(sepolia_batch):
    batch = sepolia_batch
    verifier = batch.verifier()
    docs = [(p.name, batch.credential(i)) for i, p in enumerate(batch.result.files)]
    reports = verifier.verify_many(docs)
    assert len(reports) == 28
    bad = [(r, [(c.id, c.status, c.reason) for c in r.checks]) for r in reports if r.verdict is not Verdict.VERIFIED]
    assert not bad, bad[:1]
