"""AnchorRegistry on the embedded chain (eth-tester + py-evm), written by the issuer's EvmWriter and read back by the
verifier's EvmReader through a ProviderTransport (the verifier side uses no web3)."""

from __future__ import annotations

import json

import pytest

from contracts import load_artifact
from issuer.ledger.base import AnchorReceipt, LedgerWriter
from issuer.ledger.embedded import EmbeddedChain
from issuer.ledger.errors import AlreadyAnchoredError
from issuer.ledger.evm import (
    ZERO_ROOT_SELECTOR,
    decode_already_anchored,
    ensure_registry,
    registry_contract,
    revert_data,
)
from verifier.errors import LedgerUnavailableError
from verifier.ledger.base import AnchorRef, keccak256
from verifier.ledger.errors import ChainMismatchError
from verifier.ledger.evm import EvmReader, ProviderTransport

GAS_BUDGET = 50_000  # one anchor transaction, all included (≤ 5 gas per credential at 10,000 per batch)


def _root(n: int) -> bytes:
    return keccak256(b"batch-%d" % n)


@pytest.fixture(scope="module")
def chain() -> EmbeddedChain:
    return EmbeddedChain()


@pytest.fixture(scope="module")
def issuer_account(chain):
    return chain.new_account(10**18)


def test_registry_is_deployed_with_the_artifact_code(chain):
    code = bytes(chain.w3.eth.get_code(chain.registry_address))
    assert code == bytes.fromhex(load_artifact("AnchorRegistry")["deployedBytecode"][2:])


def test_anchor_records_sender_and_time_and_emits_event(chain, issuer_account):
    writer = chain.writer(issuer_account)
    assert isinstance(writer, LedgerWriter)
    root = _root(1)
    receipt = writer.anchor(root)
    assert isinstance(receipt, AnchorReceipt)
    assert receipt.sender == issuer_account.address and receipt.mode == "contract"
    assert receipt.registry_address == chain.registry_address and receipt.chain_id == chain.chain_id
    block = chain.w3.eth.get_block(receipt.block_number)
    assert int(receipt.block_time.timestamp()) == block["timestamp"]
    assert writer.anchor_of(root) == (issuer_account.address, receipt.block_time)

    logs = chain.w3.eth.get_transaction_receipt(receipt.tx_hash)["logs"]
    assert len(logs) == 1
    topics = [bytes(t) for t in logs[0]["topics"]]
    assert topics[0] == keccak256(b"RootAnchored(bytes32,address,uint64)")
    assert topics[1] == root
    assert topics[2] == bytes(12) + bytes.fromhex(issuer_account.address[2:])
    assert int.from_bytes(bytes(logs[0]["data"]), "big") == block["timestamp"]


def test_anchor_gas_is_within_budget(chain, issuer_account):
    receipt = chain.writer(issuer_account).anchor(_root(2))
    assert receipt.gas_used < GAS_BUDGET, f"anchor used {receipt.gas_used} gas, budget {GAS_BUDGET}"
    assert receipt.gas_used / 10_000 <= 5
    print(f"\nanchor gas: {receipt.gas_used} total, {receipt.gas_used / 10_000:.2f} per credential at 10,000")


def test_duplicate_is_refused_before_sending(chain, issuer_account):
    writer = chain.writer(issuer_account)
    first = writer.anchor(_root(3))
    nonce = chain.w3.eth.get_transaction_count(issuer_account.address)
    with pytest.raises(AlreadyAnchoredError) as info:
        writer.anchor(_root(3))
    assert (info.value.root, info.value.sender, info.value.time) == (_root(3), issuer_account.address, first.block_time)
    assert chain.w3.eth.get_transaction_count(issuer_account.address) == nonce  # nothing was sent


def test_duplicate_revert_carries_the_custom_error(chain, issuer_account):
    root = _root(4)
    first = chain.writer(issuer_account).anchor(root)
    other = chain.new_account(10**17)
    registry = registry_contract(chain.w3, chain.registry_address)
    with pytest.raises(Exception) as info:  # web3 raises ContractCustomError, eth-tester TransactionFailed
        registry.functions.anchor(root).call({"from": other.address})
    assert decode_already_anchored(revert_data(info.value)) == (root, issuer_account.address, first.block_time)

    # The writer, racing another issuer past its pre-check, gets the same decoded error from gas estimation.
    racing = chain.writer(other)
    racing.anchor_of = lambda _root: None
    with pytest.raises(AlreadyAnchoredError) as raced:
        racing.anchor(root)
    assert raced.value.sender == issuer_account.address


def test_zero_root_reverts_with_its_own_error(chain, issuer_account):
    registry = registry_contract(chain.w3, chain.registry_address)
    with pytest.raises(Exception) as info:
        registry.functions.anchor(bytes(32)).call({"from": issuer_account.address})
    assert revert_data(info.value) == ZERO_ROOT_SELECTOR
    with pytest.raises(ValueError, match="zero root"):
        chain.writer(issuer_account).anchor(bytes(32))


def test_anchor_of_costs_the_same_however_many_roots(chain, issuer_account):
    registry = registry_contract(chain.w3, chain.registry_address)
    probe = _root(5)
    chain.writer(issuer_account).anchor(probe)

    def lookup_gas() -> int:
        return chain.w3.eth.estimate_gas({"to": chain.registry_address, "from": issuer_account.address,
                                          "data": registry.encode_abi("anchorOf", [probe])})

    before = lookup_gas()
    writer = chain.writer(issuer_account)
    for n in range(100, 120):
        writer.anchor(_root(n))
    assert lookup_gas() == before
    assert tuple(registry.functions.anchorOf(_root(999)).call()) == ("0x" + "00" * 20, 0)


def test_calldata_mode_and_confirmations(chain, issuer_account):
    root = _root(6)
    receipt = chain.writer(issuer_account, mode="calldata", confirmations=3).anchor(root)
    assert receipt.mode == "calldata" and receipt.registry_address is None
    tx = chain.w3.eth.get_transaction(receipt.tx_hash)
    assert bytes(tx["input"]) == root and tx["to"] == issuer_account.address and tx["value"] == 0
    assert chain.w3.eth.block_number >= receipt.block_number + 2
    assert receipt.gas_used < 25_000


def test_reader_reads_contract_mode(chain, issuer_account):
    root = _root(7)
    receipt = chain.writer(issuer_account).anchor(root)
    chain.mine(4)
    evidence = chain.reader().read_anchor(AnchorRef(chain.chain_id, receipt.tx_hash), root)
    assert evidence.mode == "contract" and evidence.carried_root == root
    assert evidence.sender == issuer_account.address and evidence.to == chain.registry_address
    assert evidence.status_ok is True
    assert evidence.block_number == receipt.block_number and evidence.block_hash == receipt.block_hash
    assert evidence.block_time == receipt.block_time
    assert evidence.registry_sender == issuer_account.address and evidence.registry_time == receipt.block_time
    assert evidence.latest_block == chain.w3.eth.block_number
    assert evidence.confirmations == evidence.latest_block - receipt.block_number + 1 >= 5


def test_reader_reads_calldata_mode(chain, issuer_account):
    root = _root(8)
    receipt = chain.writer(issuer_account, mode="calldata").anchor(root)
    evidence = chain.reader().read_anchor(AnchorRef(chain.chain_id, receipt.tx_hash), root)
    assert evidence.mode == "calldata" and evidence.carried_root == root
    assert evidence.sender == issuer_account.address and evidence.to == issuer_account.address
    assert evidence.registry_sender is None and evidence.registry_time is None
    assert evidence.confirmations == 1 and evidence.block_time == receipt.block_time


def test_reader_without_registry_reads_the_root_from_the_call_but_no_record(chain, issuer_account):
    root = _root(9)
    receipt = chain.writer(issuer_account).anchor(root)
    reader = EvmReader(chain.transport(), chain_id=chain.chain_id, registry_address=None)
    evidence = reader.read_anchor(AnchorRef(chain.chain_id, receipt.tx_hash), root)
    # anchor(root) on a contract the verifier was not told about: the signed call carries the root, and no registry
    # record is read (an unknown contract's storage proves nothing).
    assert evidence.mode == "call" and evidence.carried_root == root
    assert evidence.registry_sender is None and evidence.registry_time is None


def test_reader_with_another_registry_does_not_trust_the_called_contract(chain, issuer_account):
    root = _root(10)
    receipt = chain.writer(issuer_account).anchor(root)
    other = "0x" + "12" * 20
    reader = EvmReader(chain.transport(), chain_id=chain.chain_id, registry_address=other)
    evidence = reader.read_anchor(AnchorRef(chain.chain_id, receipt.tx_hash), root)
    assert evidence.mode == "call" and evidence.registry_sender is None


def test_unknown_transaction_reads_none(chain):
    assert chain.reader().read_anchor(AnchorRef(chain.chain_id, "0x" + "ee" * 32), _root(1)) is None


def test_reader_refuses_a_node_of_another_chain(chain):
    reader = EvmReader(chain.transport(), chain_id=1, registry_address=chain.registry_address)
    with pytest.raises(ChainMismatchError, match=f"{chain.chain_id}, expected 1"):
        reader.read_anchor(AnchorRef(1, "0x" + "ee" * 32), _root(1))


def test_failing_provider_is_ledger_unavailable():
    class Broken:
        def make_request(self, method, params):
            raise ConnectionResetError("gone")

    reader = EvmReader(ProviderTransport(Broken()), chain_id=5)
    with pytest.raises(LedgerUnavailableError, match="gone") as info:
        reader.read_anchor(AnchorRef(5, "0x" + "ee" * 32), _root(1))
    assert isinstance(info.value.__cause__, ConnectionResetError)


def test_ensure_registry_reuses_a_recorded_registry_and_redeploys_otherwise(chain, tmp_path):
    state = tmp_path / "registry.json"
    first = ensure_registry(chain.w3, chain.funder, state)
    assert ensure_registry(chain.w3, chain.funder, state) == first
    recorded = json.loads(state.read_text())
    assert recorded["chain_id"] == chain.chain_id and recorded["address"] == first
    state.write_text(json.dumps({"chain_id": chain.chain_id, "address": chain.funder.address}))  # no code there
    second = ensure_registry(chain.w3, chain.funder, state)
    assert second != first and json.loads(state.read_text())["address"] == second
    state.write_text(json.dumps({"chain_id": 1, "address": second}))  # another chain's record
    assert ensure_registry(chain.w3, chain.funder, state) not in (first, second)
