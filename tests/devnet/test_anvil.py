"""Anchoring on anvil over HTTP: the issuer's EvmWriter writes, the verifier's EvmReader (httpx) reads back."""

from __future__ import annotations

import os

import pytest
from eth_account import Account

from issuer.ledger.devnet import fund_from_dev_account
from issuer.ledger.errors import AlreadyAnchoredError
from issuer.ledger.evm import EvmWriter, ensure_registry
from verifier.errors import LedgerUnavailableError
from verifier.ledger.base import AnchorRef, keccak256
from verifier.ledger.evm import EvmReader, HttpTransport

pytestmark = pytest.mark.devnet


def _setup(node):
    w3 = node.web3()
    account = Account.create()
    fund_from_dev_account(w3, account.address, 10**18)
    registry = ensure_registry(w3, account, node.data_dir / "registry.json")
    return w3, account, registry


def test_start_is_idempotent_and_status_reports_the_node(devnet):
    status = devnet.status()
    assert status.running and status.chain_id == 11155111 and status.block_number == 0
    assert int(devnet.pid_file.read_text()) == status.pid
    assert devnet.start().pid == status.pid  # already running: reported, not started twice


def test_anchor_and_read_back_over_http(devnet):
    w3, account, registry = _setup(devnet)
    root = keccak256(b"devnet batch")
    receipt = EvmWriter(w3, account, registry_address=registry, poll_interval=0.05).anchor(root)
    assert receipt.gas_used < 50_000 and receipt.chain_id == 11155111
    with pytest.raises(AlreadyAnchoredError):
        EvmWriter(w3, account, registry_address=registry).anchor(root)

    calldata = EvmWriter(w3, account, mode="calldata", poll_interval=0.05).anchor(keccak256(b"plain"))

    with HttpTransport(devnet.rpc_url) as transport:
        reader = EvmReader(transport, chain_id=11155111, registry_address=registry)
        evidence = reader.read_anchor(AnchorRef(11155111, receipt.tx_hash), root)
        assert evidence.mode == "contract" and evidence.carried_root == root
        assert evidence.sender == account.address and evidence.registry_sender == account.address
        assert evidence.block_time == receipt.block_time == evidence.registry_time
        assert evidence.block_hash == receipt.block_hash and evidence.status_ok
        assert evidence.confirmations == evidence.latest_block - receipt.block_number + 1 == 2  # calldata tx after it

        plain = reader.read_anchor(AnchorRef(11155111, calldata.tx_hash), keccak256(b"plain"))
        assert plain.mode == "calldata" and plain.carried_root == keccak256(b"plain")
        assert plain.to == account.address and plain.registry_sender is None

        assert reader.read_anchor(AnchorRef(11155111, "0x" + "ee" * 32), root) is None


def test_confirmations_wait_for_later_blocks(devnet):
    w3, account, registry = _setup(devnet)
    # Automine makes no block without a transaction: the idle hook mines one per poll, as a busy chain would.
    writer = EvmWriter(w3, account, registry_address=registry, confirmations=3,
                       idle=lambda: w3.provider.make_request("evm_mine", []))
    receipt = writer.anchor(keccak256(b"confirmed"))
    assert w3.eth.block_number >= receipt.block_number + 2


def test_state_survives_stop_and_start(devnet_factory):
    node = devnet_factory()
    node.start()
    w3, account, registry = _setup(node)
    root = keccak256(b"persisted")
    receipt = EvmWriter(w3, account, registry_address=registry, poll_interval=0.05).anchor(root)
    pid = node.status().pid

    assert node.stop() is True
    assert not node.pid_file.exists() and not node.status().running
    with pytest.raises(OSError):
        os.kill(pid, 0)
    assert node.state_file.stat().st_size > 0

    node.start()
    assert node.status().block_number == receipt.block_number
    assert ensure_registry(w3, account, node.data_dir / "registry.json") == registry  # reused, not redeployed
    with HttpTransport(node.rpc_url) as transport:
        evidence = EvmReader(transport, chain_id=31337, registry_address=registry).read_anchor(
            AnchorRef(31337, receipt.tx_hash), root)
    assert evidence is not None and evidence.registry_sender == account.address
    assert evidence.block_hash == receipt.block_hash


def test_stale_pid_file_is_handled(devnet_factory):
    node = devnet_factory()
    node.data_dir.mkdir(parents=True, exist_ok=True)
    node.pid_file.write_text(f"{os.getpid()}\n")  # a live process that is not anvil
    assert not node.status().running
    assert node.stop() is False and not node.pid_file.exists()
    node.pid_file.write_text("999999999\n")  # no such process
    assert node.start().running


def test_reading_from_a_stopped_node_is_ledger_unavailable(devnet_factory):
    node = devnet_factory()
    node.start()
    rpc_url = node.rpc_url
    node.stop()
    with HttpTransport(rpc_url, timeout=2.0) as transport:
        reader = EvmReader(transport, chain_id=31337)
        with pytest.raises(LedgerUnavailableError, match="eth_chainId"):
            reader.read_anchor(AnchorRef(31337, "0x" + "ee" * 32), keccak256(b"x"))
