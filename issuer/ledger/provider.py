"""What the issuer service's batch runner needs from a ledger, step by step (``LedgerProvider``), over web3.

The runner (``issuer.store.engine``) stores a signed transaction *before* broadcasting it and resumes from the
database after a crash, so it needs the steps apart: prepare with an explicit nonce, broadcast raw bytes, look up a
receipt, ask the registry, find the transaction that anchored a root, count nonces, wait a little. Status list
publications (``publishStatus``) and key events (``recordKeyEvent``) go through the same steps. ``EvmLedger``
implements them for any EVM node (``rpc_ledger``: anvil, a real network) and for the in-process chain
(``EmbeddedChain.provider()``, where "waiting" mines a block since nothing else would).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from eth_account import Account
from web3 import Web3
from web3.exceptions import TransactionNotFound

from issuer.ledger.base import MODES
from issuer.ledger.evm import (
    PreparedTransaction,
    anchor_call,
    anchor_receipt,
    broadcast_raw,
    confirmations_of,
    ensure_registry,
    get_receipt,
    key_event_call,
    map_errors,
    prepare_transaction,
    registry_anchor_of,
    registry_contract,
    registry_status_of,
    status_call,
)
from verifier.ledger.base import StatusRecord, keccak256
from verifier.ledger.registry import STATUS_PUBLISHED_TOPIC, address_topic

__all__ = ["EvmLedger", "LedgerProvider", "MinedTransaction", "ROOT_ANCHORED_TOPIC", "rpc_ledger", "wait_once"]

ROOT_ANCHORED_TOPIC = keccak256(b"RootAnchored(bytes32,address,uint64)")
DEV_FUNDING_WEI = 10**18
LOG_LOOKBACK_BLOCKS = 50_000  # how far back the registry's events are searched for a root's transaction


@dataclass(frozen=True)
class MinedTransaction:
    tx_hash: str
    succeeded: bool  # receipt status 1
    block_number: int
    block_hash: str
    block_time: datetime
    gas_used: int
    sender: str
    confirmations: int  # 1 = in the latest block


@runtime_checkable
class LedgerProvider(Protocol):
    """The ledger as the batch runner drives it (one EVM chain, one registry or the calldata mode)."""

    chain_id: int
    mode: str
    registry_address: str | None

    def prepare_anchor(self, secret: bytes, root: bytes, *, nonce: int) -> PreparedTransaction:
        """Signs the transaction anchoring ``root`` from the key ``secret`` with exactly ``nonce``; sends nothing."""
        ...

    def pending_nonce(self, address: str) -> int:
        """The account's transaction count including pending ones (the next free nonce as the node sees it)."""
        ...

    def mined_nonce(self, address: str) -> int:
        """The account's transaction count in the latest block: every nonce below it is used for good."""
        ...

    def broadcast(self, raw: bytes) -> str:
        """Sends signed bytes (a node that already has them is fine); returns the hash."""
        ...

    def receipt(self, tx_hash: str) -> MinedTransaction | None:
        """The mined transaction, or None if it is not mined (pending or unknown)."""
        ...

    def is_pending(self, tx_hash: str) -> bool:
        """True if the node knows the transaction but has not mined it."""
        ...

    def anchor_of(self, root: bytes) -> tuple[str, datetime] | None:
        """The registry's record of ``root`` (sender, time); None if not anchored (or no registry: calldata mode)."""
        ...

    def find_anchor_transaction(self, root: bytes) -> str | None:
        """The hash of the transaction whose registry event recorded ``root`` (recent blocks only)."""
        ...

    def wait(self) -> None:
        """Lets time pass before the next poll (the embedded chain mines a block)."""
        ...

    def prepare_status(self, secret: bytes, list_id: bytes, digest: bytes, *, nonce: int) -> PreparedTransaction:
        """Signs ``publishStatus(list_id, digest)`` from the key ``secret`` with exactly ``nonce``; sends nothing."""
        ...

    def prepare_key_event(self, secret: bytes, key_id: bytes, kind: int, detail: bytes, *,
                          nonce: int) -> PreparedTransaction:
        """Signs ``recordKeyEvent(key_id, kind, detail)`` from the key ``secret`` with exactly ``nonce``."""
        ...

    def status_of(self, publisher: str, list_id: bytes) -> StatusRecord | None:
        """The registry's latest publication of ``publisher``'s list; None if never published (or no registry)."""
        ...

    def find_status_transaction(self, publisher: str, list_id: bytes, digest: bytes) -> str | None:
        """The hash of the transaction that published ``digest`` for ``publisher``'s list (recent blocks only)."""
        ...

    def ensure_funds(self, address: str) -> None:
        """On a dev chain, funds ``address`` when it is low; elsewhere does nothing (the operator funds it)."""
        ...



def wait_once(idle: Callable[[], None] | None, lock: AbstractContextManager[Any], poll_interval: float) -> None:
    """One wait for the chain to move on (``EvmLedger`` and ``ebsi.ledger.EbsiLedger``): an in-process chain's
    ``idle`` (it acts on the chain: the embedded chain mines a block) runs under the ledger's lock; plain waiting
    sleeps without it, so other callers are not held up by a sleeping worker."""
    if idle is None:
        time.sleep(poll_interval)
        return
    with lock:
        idle()


class EvmLedger:
    """``LedgerProvider`` over a web3 connection. Calls are serialized (eth-tester is not thread-safe, and a runner
    thread and request handlers may share the provider)."""

    def __init__(self, w3: Web3, *, registry_address: str | None, mode: str = "contract",
                 poll_interval: float = 0.5, idle: Callable[[], None] | None = None,
                 fund: Callable[[str, int], Any] | None = None, label: str = "evm"):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if mode == "contract" and not registry_address:
            raise ValueError("contract mode needs registry_address")
        self.w3 = w3
        self.mode = mode
        self.label = label
        self.registry_address = Web3.to_checksum_address(registry_address) if registry_address else None
        self._registry = registry_contract(w3, self.registry_address) if self.registry_address else None
        # ``idle`` acts on the chain (the embedded chain mines a block): it runs under the lock. Plain waiting does
        # not hold the lock, so other callers are not held up by a sleeping runner.
        self._idle = idle
        self.poll_interval = poll_interval
        self._fund = fund
        self._lock = threading.RLock()
        with map_errors("eth_chainId", w3):
            self.chain_id = int(w3.eth.chain_id)

    def prepare_anchor(self, secret: bytes, root: bytes, *, nonce: int) -> PreparedTransaction:
        account = Account.from_key(secret)
        with self._lock:
            # calldata mode sends the root to the sender's own address (as EvmWriter does by default).
            to, data = anchor_call(root, mode=self.mode, registry_address=self.registry_address,
                                   sink_address=account.address)
            return prepare_transaction(self.w3, account, to=to, data=data, nonce=nonce, chain_id=self.chain_id,
                                       what="prepare anchor")

    def prepare_status(self, secret: bytes, list_id: bytes, digest: bytes, *, nonce: int) -> PreparedTransaction:
        to, data = status_call(list_id, digest, registry_address=self.registry_address)
        with self._lock:
            return prepare_transaction(self.w3, Account.from_key(secret), to=to, data=data, nonce=nonce,
                                       chain_id=self.chain_id, what="prepare status publication")

    def prepare_key_event(self, secret: bytes, key_id: bytes, kind: int, detail: bytes, *,
                          nonce: int) -> PreparedTransaction:
        to, data = key_event_call(key_id, kind, detail, registry_address=self.registry_address)
        with self._lock:
            return prepare_transaction(self.w3, Account.from_key(secret), to=to, data=data, nonce=nonce,
                                       chain_id=self.chain_id, what="prepare key event")

    def status_of(self, publisher: str, list_id: bytes) -> StatusRecord | None:
        if self._registry is None:
            return None
        with self._lock:
            return registry_status_of(self._registry, publisher, list_id)

    def find_status_transaction(self, publisher: str, list_id: bytes, digest: bytes) -> str | None:
        if self.registry_address is None:
            return None
        logs = self._recent_registry_logs([STATUS_PUBLISHED_TOPIC, address_topic(publisher), bytes(list_id)])
        for log in logs:
            if bytes(log["data"])[:32] == bytes(digest):  # data: digest, version, time
                return "0x" + bytes(log["transactionHash"]).hex()
        return None

    def pending_nonce(self, address: str) -> int:
        with self._lock, map_errors("nonce", self.w3):
            return int(self.w3.eth.get_transaction_count(Web3.to_checksum_address(address), "pending"))

    def mined_nonce(self, address: str) -> int:
        with self._lock, map_errors("nonce", self.w3):
            return int(self.w3.eth.get_transaction_count(Web3.to_checksum_address(address), "latest"))

    def broadcast(self, raw: bytes) -> str:
        with self._lock:
            return broadcast_raw(self.w3, raw, what="broadcast anchor")

    def receipt(self, tx_hash: str) -> MinedTransaction | None:
        with self._lock:
            found = get_receipt(self.w3, tx_hash)
            if found is None:
                return None
            record = anchor_receipt(self.w3, found, chain_id=self.chain_id, mode=self.mode,
                                    registry_address=self.registry_address)
            return MinedTransaction(record.tx_hash, int(found["status"]) == 1, record.block_number, record.block_hash,
                                    record.block_time, record.gas_used, record.sender, confirmations_of(self.w3, found))

    def is_pending(self, tx_hash: str) -> bool:
        with self._lock, map_errors("transaction", self.w3):
            try:
                tx = self.w3.eth.get_transaction(tx_hash)
            except TransactionNotFound:
                return False
        return tx.get("blockNumber") is None

    def anchor_of(self, root: bytes) -> tuple[str, datetime] | None:
        if self._registry is None:
            return None
        with self._lock:
            return registry_anchor_of(self._registry, root)

    def find_anchor_transaction(self, root: bytes) -> str | None:
        if self.registry_address is None:
            return None
        for log in self._recent_registry_logs([ROOT_ANCHORED_TOPIC, bytes(root)]):
            return "0x" + bytes(log["transactionHash"]).hex()
        return None

    def _recent_registry_logs(self, topics: list[bytes]) -> list[Any]:
        """The registry's events with these topics in the last ``LOG_LOOKBACK_BLOCKS`` blocks (a bounded query)."""
        with self._lock, map_errors("registry events", self.w3):
            latest = int(self.w3.eth.block_number)
            return list(self.w3.eth.get_logs({
                "address": self.registry_address,
                "fromBlock": max(0, latest - LOG_LOOKBACK_BLOCKS),
                "toBlock": latest,
                "topics": ["0x" + bytes(topic).hex() for topic in topics],
            }))

    def wait(self) -> None:
        wait_once(self._idle, self._lock, self.poll_interval)

    def close(self) -> None:
        """Releases the HTTP connections of an RPC provider (nothing to do in process)."""
        # web3 keeps its requests sessions in a cache of its HTTP provider (no public close in web3 8).
        manager = getattr(getattr(self.w3, "provider", None), "_request_session_manager", None)
        cache = getattr(manager, "session_cache", None)
        if cache is None or not hasattr(cache, "items"):
            return
        for _key, session in list(cache.items()):
            close = getattr(session, "close", None)
            if callable(close):
                close()
        cache.clear()

    def ensure_funds(self, address: str) -> None:
        if self._fund is None:
            return
        with self._lock:
            with map_errors("balance", self.w3):
                balance = int(self.w3.eth.get_balance(Web3.to_checksum_address(address)))
            if balance < DEV_FUNDING_WEI // 10:
                self._fund(address, DEV_FUNDING_WEI)


def rpc_ledger(rpc_url: str, *, registry_address: str | None = None, dev: bool = False,
               registry_state_file: Path | None = None, mode: str = "contract", poll_interval: float = 0.5,
               timeout: float = 10.0) -> EvmLedger:
    """An ``EvmLedger`` over a JSON-RPC node. ``dev=True`` (anvil only: it uses anvil's public dev key #0) funds the
    tenants' anchoring addresses and, without ``registry_address``, deploys the registry once (recorded in
    ``registry_state_file``, reused while its code is there)."""
    from issuer.ledger.devnet import DEV_KEY_0, fund_from_dev_account

    w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": timeout}))
    if mode == "contract" and not registry_address:
        if not dev or registry_state_file is None:
            raise ValueError("an RPC ledger in contract mode needs a registry address (deployed only on a dev chain)")
        registry_address = ensure_registry(w3, Account.from_key(DEV_KEY_0), Path(registry_state_file))
    fund = (lambda address, wei: fund_from_dev_account(w3, address, wei)) if dev else None
    return EvmLedger(w3, registry_address=registry_address, mode=mode, poll_interval=poll_interval, fund=fund,
                     label="rpc")
