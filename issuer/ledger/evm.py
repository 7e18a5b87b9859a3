"""Anchoring on any EVM chain with web3 + eth-account: sign locally, send, wait for the receipt and k confirmations.

Two modes (DESIGN.md "Anchoring"): ``contract`` calls ``AnchorRegistry.anchor(root)`` (the registry rejects duplicates
and answers ``anchorOf`` in constant time); ``calldata`` sends a 0-value transaction whose whole calldata is the 32-byte
root (the Blockcerts way, cheapest, for chains without the registry). web3 errors are mapped to
``issuer.ledger.errors`` at this boundary.
"""

from __future__ import annotations

import ast
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from web3 import Web3
from web3.exceptions import ContractLogicError, TimeExhausted, TransactionNotFound, Web3Exception, Web3RPCError

from contracts import load_artifact
from issuer.ledger.base import MODES, AnchorReceipt
from issuer.ledger.errors import (
    AlreadyAnchoredError,
    AnchorRevertedError,
    ConfirmationTimeoutError,
    IssuerLedgerError,
    LedgerConnectionError,
    RegistryNotDeployedError,
    TransactionRejectedError,
    redact_url,
)
from verifier.ledger.base import StatusRecord, keccak256
from verifier.ledger.evm import ANCHOR_SELECTOR
from verifier.ledger.registry import decode_status_of, publish_status_data, record_key_event_data, status_of_data

__all__ = [
    "ALREADY_ANCHORED_SELECTOR", "EvmWriter", "PreparedTransaction", "anchor_call", "anchor_receipt", "broadcast_raw",
    "confirmations_of", "decode_already_anchored", "deploy_registry", "ensure_registry", "get_receipt",
    "key_event_call", "map_errors", "prepare_transaction", "registry_anchor_of", "registry_code_matches",
    "registry_contract", "registry_status_of", "revert_data", "send_transaction", "status_call",
    "wait_for_confirmations", "wait_for_receipt",
]

REGISTRY = "AnchorRegistry"
ALREADY_ANCHORED_SELECTOR = keccak256(b"AnchorRegistry__AlreadyAnchored(bytes32,address,uint64)")[:4]
ZERO_ROOT_SELECTOR = keccak256(b"AnchorRegistry__ZeroRoot()")[:4]
DEFAULT_PRIORITY_FEE = 10**9  # 1 gwei, when the node cannot suggest one


def _utc(ts: int) -> datetime:
    return datetime.fromtimestamp(int(ts), tz=UTC)


def _hex(value: Any) -> str:
    return value.to_0x_hex() if hasattr(value, "to_0x_hex") else (value if isinstance(value, str) else "0x" + bytes(value).hex())


def decode_already_anchored(revert_data: bytes | str | None) -> tuple[bytes, str, datetime] | None:
    """Decodes ``AnchorRegistry__AlreadyAnchored(root, sender, time)`` revert data; ``None`` if it is another error."""
    if revert_data is None:
        return None
    data = bytes.fromhex(revert_data[2:]) if isinstance(revert_data, str) else bytes(revert_data)
    if len(data) != 4 + 96 or data[:4] != ALREADY_ANCHORED_SELECTOR:
        return None
    root, sender, when = data[4:36], data[36 + 12:68], int.from_bytes(data[68:100], "big")
    return root, Web3.to_checksum_address(sender), _utc(when)


def _endpoint(w3: Web3 | None) -> str:
    """The node's URL (for redaction only: it is never shown whole), or "" for an in-process provider."""
    return str(getattr(getattr(w3, "provider", None), "endpoint_uri", None) or "")


def _said(exc: BaseException, w3: Web3 | None) -> str:
    """An exception's text as a message may show it: no credential or API key of the node's URL (redact_url)."""
    return redact_url(_endpoint(w3), text=str(exc))


@contextmanager
def map_errors(what: str, w3: Web3 | None = None) -> Iterator[None]:
    """Maps web3 / transport errors to issuer ledger errors (the boundary, httpx style).

    ``w3`` names the node whose URL is cut out of the messages (see ``redact_url``).
    """
    try:
        yield
    except IssuerLedgerError:
        raise
    except (TimeExhausted, TimeoutError) as exc:
        raise LedgerConnectionError(f"{what}: node did not answer in time: {_said(exc, w3)}") from exc
    except OSError as exc:  # requests' ConnectionError and Timeout are OSErrors
        where = f" at {redact_url(_endpoint(w3))}" if _endpoint(w3) else ""
        raise LedgerConnectionError(f"{what}: node{where} unreachable: {_said(exc, w3)}") from exc
    except ContractLogicError as exc:
        _raise_revert(what, getattr(exc, "data", None), exc)
    except Web3RPCError as exc:
        raise TransactionRejectedError(f"{what}: node refused: {_said(exc, w3)}") from exc
    except Web3Exception as exc:
        raise IssuerLedgerError(f"{what}: {type(exc).__name__}: {_said(exc, w3)}") from exc
    except Exception as exc:  # eth-tester raises its own (ValidationError, TransactionFailed)
        module = type(exc).__module__
        if not module.startswith(("eth_tester", "eth.", "eth_utils")):
            raise
        if type(exc).__name__ == "TransactionFailed":
            _raise_revert(what, _tester_revert_data(exc), exc)
        raise TransactionRejectedError(f"{what}: node refused: {type(exc).__name__}: {exc}") from exc


def _raise_revert(what: str, data: Any, exc: Exception) -> None:
    found = decode_already_anchored(data)
    if found is not None:
        raise AlreadyAnchoredError(*found) from exc
    raise AnchorRevertedError(f"{what}: would revert: {exc}") from exc


_TESTER_REVERT_PREFIX = "execution reverted: "


def revert_data(exc: BaseException) -> bytes | None:
    """The raw revert data of a failed call, from web3 (``ContractLogicError.data``) or eth-tester's message."""
    data = getattr(exc, "data", None)
    if isinstance(data, str) and data.startswith("0x"):
        try:
            return bytes.fromhex(data[2:])
        except ValueError:
            return None
    if isinstance(data, (bytes, bytearray)):
        return bytes(data)
    return _tester_revert_data(exc)


def _tester_revert_data(exc: BaseException) -> bytes | None:
    """eth-tester reports revert data as the repr of a bytes object inside its message."""
    message = str(exc.args[0]) if exc.args else ""
    if not message.startswith(_TESTER_REVERT_PREFIX):
        return None
    try:
        data = ast.literal_eval(message[len(_TESTER_REVERT_PREFIX):])
    except (ValueError, SyntaxError):
        return None
    return data if isinstance(data, bytes) else None


def registry_contract(w3: Web3, address: str) -> Any:
    return w3.eth.contract(address=Web3.to_checksum_address(address), abi=load_artifact(REGISTRY)["abi"])


# ------------------------------------------------------------------------------------- the one send sequence
# prepare (gas, fees, nonce, sign locally) -> broadcast the raw bytes -> wait for the receipt (and confirmations).
# Anchoring, deploying the registry and funding from the dev account all go through it; the issuer service's batch
# runner uses the steps one by one, storing the prepared transaction before broadcasting it (issuer.store.engine).


@dataclass(frozen=True)
class PreparedTransaction:
    """A signed transaction not yet (known to be) broadcast: ``raw`` is sent as-is, on first try and on every retry."""

    raw: bytes = field(repr=False)
    tx_hash: str  # 0x-prefixed lowercase hex, keccak256 of ``raw``
    nonce: int
    sender: str  # EIP-55
    chain_id: int


def anchor_call(root: bytes, *, mode: str, registry_address: str | None, sink_address: str | None) -> tuple[str, bytes]:
    """(to, data) of the transaction anchoring ``root``: ``AnchorRegistry.anchor(root)``, or the bare root as
    calldata to the sink address."""
    if not isinstance(root, (bytes, bytearray)) or len(root) != 32:
        raise ValueError(f"root must be 32 bytes, got {root!r}")
    if bytes(root) == bytes(32):
        raise ValueError("the zero root cannot be anchored (it is no Merkle root)")
    if mode == "contract":
        if not registry_address:
            raise ValueError("contract mode needs registry_address")
        return Web3.to_checksum_address(registry_address), ANCHOR_SELECTOR + bytes(root)
    if mode == "calldata":
        if not sink_address:
            raise ValueError("calldata mode needs a sink address")
        return Web3.to_checksum_address(sink_address), bytes(root)
    raise ValueError(f"mode must be one of {MODES}, got {mode!r}")


def status_call(list_id: bytes, digest: bytes, *, registry_address: str | None) -> tuple[str, bytes]:
    """(to, data) of ``AnchorRegistry.publishStatus(listId, digest)``: one transaction per publication of a list."""
    if not registry_address:
        raise ValueError("publishing a status list digest needs the registry (contract mode)")
    return Web3.to_checksum_address(registry_address), publish_status_data(list_id, digest)


def key_event_call(key_id: bytes, kind: int, detail: bytes, *, registry_address: str | None) -> tuple[str, bytes]:
    """(to, data) of ``AnchorRegistry.recordKeyEvent(keyId, kind, detail)`` (kind 1 added, 2 retired, 3 revoked)."""
    if not registry_address:
        raise ValueError("recording a key event needs the registry (contract mode)")
    return Web3.to_checksum_address(registry_address), record_key_event_data(key_id, kind, detail)


def prepare_transaction(w3: Web3, account: Any, *, to: str | None, data: bytes = b"", value: int = 0,
                        nonce: int | None = None, gas: int | None = None, chain_id: int | None = None,
                        what: str = "prepare transaction") -> PreparedTransaction:
    """Builds and signs a transaction from ``account`` (gas estimated +20% unless given, EIP-1559 fees from the
    latest block, or legacy pricing on a pre-London chain; ``nonce`` defaults to the pending count). Sends nothing.

    Estimating the gas also catches a revert before anything is paid (a root anchored meanwhile:
    ``AlreadyAnchoredError``)."""
    with map_errors(what, w3):
        chain_id = int(w3.eth.chain_id) if chain_id is None else int(chain_id)
        tx: dict[str, Any] = {"chainId": chain_id, "from": account.address, "value": int(value), "data": bytes(data)}
        if to is not None:
            tx["to"] = Web3.to_checksum_address(to)
        tx["gas"] = int(gas) if gas is not None else int(w3.eth.estimate_gas(tx) * 12 // 10)
        base = w3.eth.get_block("latest").get("baseFeePerGas")
        if base is None:  # a pre-London chain: legacy pricing
            tx["gasPrice"] = int(w3.eth.gas_price)
        else:
            try:
                priority = int(w3.eth.max_priority_fee)
            except (Web3Exception, ValueError):
                priority = DEFAULT_PRIORITY_FEE
            tx.update(maxFeePerGas=2 * int(base) + priority, maxPriorityFeePerGas=priority)
        tx["nonce"] = int(w3.eth.get_transaction_count(account.address, "pending")) if nonce is None else int(nonce)
    signed = account.sign_transaction({k: v for k, v in tx.items() if k != "from"})
    return PreparedTransaction(bytes(signed.raw_transaction), _hex(signed.hash).lower(), tx["nonce"],
                               Web3.to_checksum_address(account.address), chain_id)


_ALREADY_KNOWN = ("already known", "known transaction", "already imported", "alreadyknown", "already in the pool")


def broadcast_raw(w3: Web3, raw: bytes, *, what: str = "send transaction") -> str:
    """Sends signed transaction bytes; returns their hash. A node that already holds them is not an error (a
    rebroadcast after a crash); any other refusal is (``TransactionRejectedError``, e.g. nonce too low)."""
    tx_hash = "0x" + keccak256(bytes(raw)).hex()
    try:
        with map_errors(what, w3):
            w3.eth.send_raw_transaction(bytes(raw))
    except TransactionRejectedError as exc:
        if any(k in str(exc).lower() for k in _ALREADY_KNOWN):
            return tx_hash
        raise
    return tx_hash


def send_transaction(w3: Web3, account: Any, *, to: str | None, data: bytes = b"", value: int = 0,
                     nonce: int | None = None, gas: int | None = None, chain_id: int | None = None,
                     what: str = "send transaction") -> PreparedTransaction:
    """``prepare_transaction`` then ``broadcast_raw``; the caller waits (``wait_for_receipt``)."""
    prepared = prepare_transaction(w3, account, to=to, data=data, value=value, nonce=nonce, gas=gas,
                                   chain_id=chain_id, what=what)
    broadcast_raw(w3, prepared.raw, what=what)
    return prepared


def get_receipt(w3: Web3, tx_hash: str, *, what: str = "receipt") -> Any | None:
    """The receipt of ``tx_hash``, or None while it is not mined (or unknown to the node)."""
    try:
        with map_errors(what, w3):
            return w3.eth.get_transaction_receipt(tx_hash)
    except IssuerLedgerError as exc:
        if isinstance(exc.__cause__, TransactionNotFound):
            return None
        raise


def wait_for_receipt(w3: Web3, tx_hash: str, *, timeout: float, idle: Callable[[], None],
                     what: str = "receipt") -> Any:
    """Polls for the receipt, calling ``idle`` between polls, until ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        receipt = get_receipt(w3, tx_hash, what=what)
        if receipt is not None:
            return receipt
        if time.monotonic() > deadline:
            raise ConfirmationTimeoutError(f"{what}: {tx_hash} not mined within {timeout}s (it may still be)",
                                           tx_hash=tx_hash)
        idle()


def confirmations_of(w3: Web3, receipt: Any) -> int:
    """How many blocks hold ``receipt``'s block or build on it (1 = just mined)."""
    with map_errors("block number", w3):
        latest = int(w3.eth.block_number)
    return max(0, latest - int(receipt["blockNumber"]) + 1)


def anchor_receipt(w3: Web3, receipt: Any, *, chain_id: int, mode: str, registry_address: str | None) -> AnchorReceipt:
    """The project's record of a mined anchoring transaction (block time read from its block)."""
    with map_errors("block", w3):
        block = w3.eth.get_block(receipt["blockHash"])
    return AnchorReceipt(
        chain_id=chain_id,
        tx_hash=_hex(receipt["transactionHash"]).lower(),
        block_number=int(receipt["blockNumber"]),
        block_hash=_hex(receipt["blockHash"]).lower(),
        block_time=_utc(block["timestamp"]),
        gas_used=int(receipt["gasUsed"]),
        sender=Web3.to_checksum_address(receipt["from"]),
        mode=mode,
        registry_address=registry_address if mode == "contract" else None,
    )


def wait_for_confirmations(w3: Web3, tx_hash: str, confirmations: int, *, timeout: float, idle: Callable[[], None],
                           chain_id: int, mode: str, registry_address: str | None) -> AnchorReceipt:
    """Waits until ``tx_hash`` is mined with status 1 and has ``confirmations`` blocks; a reorg that moved it
    meanwhile restarts the wait (DESIGN.md: re-anchor after a reorg)."""
    deadline = time.monotonic() + timeout
    while True:
        receipt = wait_for_receipt(w3, tx_hash, timeout=max(0.0, deadline - time.monotonic()), idle=idle)
        if int(receipt["status"]) != 1:
            raise AnchorRevertedError(f"anchoring transaction {tx_hash} was mined but reverted", tx_hash=tx_hash)
        while (seen := confirmations_of(w3, receipt)) < confirmations:
            if time.monotonic() > deadline:
                raise ConfirmationTimeoutError(
                    f"{tx_hash}: {seen} of {confirmations} confirmations after {timeout}s", tx_hash=tx_hash)
            idle()
        # Re-read after the wait: a reorg may have moved or dropped the transaction meanwhile.
        final = wait_for_receipt(w3, tx_hash, timeout=max(0.0, deadline - time.monotonic()), idle=idle)
        if final["blockHash"] == receipt["blockHash"]:
            return anchor_receipt(w3, final, chain_id=chain_id, mode=mode, registry_address=registry_address)
        if time.monotonic() > deadline:
            raise ConfirmationTimeoutError(f"{tx_hash}: not mined within {timeout}s (it may still be)", tx_hash=tx_hash)


class EvmWriter:
    """Anchors roots from one local account. Thread-safe; the nonce is tracked locally from the pending count."""

    def __init__(self, w3: Web3, account: Any, *, mode: str = "contract", registry_address: str | None = None,
                 sink_address: str | None = None, confirmations: int = 1, timeout: float = 120.0,
                 poll_interval: float = 0.5, idle: Callable[[], None] | None = None):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if mode == "contract" and not registry_address:
            raise ValueError("contract mode needs registry_address")
        if confirmations < 1:
            raise ValueError(f"confirmations must be >= 1, got {confirmations}")
        self.w3 = w3
        self.account = account
        self.mode = mode
        self.registry_address = Web3.to_checksum_address(registry_address) if registry_address else None
        self.sink_address = Web3.to_checksum_address(sink_address) if sink_address else account.address
        self.confirmations = confirmations
        self.timeout = timeout
        self.poll_interval = poll_interval
        # Called between polls while waiting; the embedded chain passes "mine a block" since nothing else would.
        self._idle = idle or (lambda: time.sleep(self.poll_interval))
        self._lock = threading.Lock()
        self._next_nonce: int | None = None
        with map_errors("eth_chainId", w3):
            self.chain_id = int(w3.eth.chain_id)
        self._registry = registry_contract(w3, self.registry_address) if self.registry_address else None

    def anchor(self, root: bytes) -> AnchorReceipt:
        to, data = anchor_call(root, mode=self.mode, registry_address=self.registry_address,
                               sink_address=self.sink_address)
        if self.mode == "contract":
            record = self.anchor_of(bytes(root))
            if record is not None:
                raise AlreadyAnchoredError(bytes(root), record[0], record[1])
        return self._send(to, data, what="anchor")

    def publish_status(self, list_id: bytes, digest: bytes) -> AnchorReceipt:
        """``publishStatus(listId, digest)`` from this account, confirmed: one transaction per list publication."""
        to, data = status_call(list_id, digest, registry_address=self.registry_address)
        return self._send(to, data, what="publish status")

    def record_key_event(self, key_id: bytes, kind: int, detail: bytes) -> AnchorReceipt:
        """``recordKeyEvent(keyId, kind, detail)`` from this account, confirmed."""
        to, data = key_event_call(key_id, kind, detail, registry_address=self.registry_address)
        return self._send(to, data, what="record key event")

    def status_of(self, list_id: bytes, publisher: str | None = None) -> StatusRecord | None:
        """The registry's latest publication of ``publisher``'s list (default: this account's)."""
        if self._registry is None:
            raise ValueError("status_of needs a registry address")
        return registry_status_of(self._registry, publisher or self.account.address, list_id)

    def _send(self, to: str, data: bytes, *, what: str) -> AnchorReceipt:
        """The one send sequence from this account: nonce tracked locally, prepare, broadcast, wait k confirmations."""
        with self._lock:
            with map_errors("nonce", self.w3):
                pending = int(self.w3.eth.get_transaction_count(self.account.address, "pending"))
            nonce = max(pending, self._next_nonce or 0)
            sent = send_transaction(self.w3, self.account, to=to, data=data, nonce=nonce, chain_id=self.chain_id,
                                    what=what)
            self._next_nonce = nonce + 1
        return wait_for_confirmations(self.w3, sent.tx_hash, self.confirmations, timeout=self.timeout,
                                      idle=self._idle, chain_id=self.chain_id, mode=self.mode,
                                      registry_address=self.registry_address)

    def anchor_of(self, root: bytes) -> tuple[str, datetime] | None:
        """The registry's record of ``root``: (sender, time), or None if it was never anchored."""
        if self._registry is None:
            raise ValueError("anchor_of needs a registry address")
        return registry_anchor_of(self._registry, root)


def registry_anchor_of(registry: Any, root: bytes) -> tuple[str, datetime] | None:
    """``AnchorRegistry.anchorOf(root)``: (sender, time), or None if the root was never anchored."""
    with map_errors("anchorOf", registry.w3):
        sender, when = registry.functions.anchorOf(bytes(root)).call()
    if int(sender, 16) == 0:
        return None
    return Web3.to_checksum_address(sender), _utc(when)


def registry_status_of(registry: Any, publisher: str, list_id: bytes) -> StatusRecord | None:
    """``AnchorRegistry.statusOf(publisher, listId)`` (decoded as the verifier decodes it); None if never published."""
    with map_errors("statusOf", registry.w3):
        out = registry.w3.eth.call({"to": registry.address, "data": status_of_data(publisher, list_id)})
    return decode_status_of(bytes(out))


# ------------------------------------------------------------------------------------------------------ deployment


def deploy_registry(w3: Web3, account: Any, *, timeout: float = 120.0, idle: Callable[[], None] | None = None) -> str:
    """Deploys AnchorRegistry from ``account``; returns its EIP-55 address after checking the code there."""
    artifact = load_artifact(REGISTRY)
    sent = send_transaction(w3, account, to=None, data=bytes.fromhex(artifact["bytecode"].removeprefix("0x")),
                            what="deploy AnchorRegistry")
    receipt = wait_for_receipt(w3, sent.tx_hash, timeout=timeout, idle=idle or (lambda: time.sleep(0.2)),
                               what="registry deployment")
    if int(receipt["status"]) != 1 or not receipt["contractAddress"]:
        raise AnchorRevertedError(f"registry deployment {sent.tx_hash} failed", tx_hash=sent.tx_hash)
    address = Web3.to_checksum_address(receipt["contractAddress"])
    if not registry_code_matches(w3, address):
        raise RegistryNotDeployedError(f"code at {address} after deployment differs from the artifact's deployedBytecode")
    return address


def registry_code_matches(w3: Web3, address: str) -> bool:
    """True if the code at ``address`` is exactly the committed artifact's deployedBytecode."""
    expected = bytes.fromhex(load_artifact(REGISTRY)["deployedBytecode"][2:])
    with map_errors("get code", w3):
        return bytes(w3.eth.get_code(Web3.to_checksum_address(address))) == expected


def ensure_registry(w3: Web3, account: Any, state_file: Path) -> str:
    """The registry recorded in ``state_file`` if it is there with the expected code on this chain; else deploy one.

    ``state_file`` holds ``{"chain_id": ..., "address": ...}``; it is rewritten atomically after a deployment.
    """
    state_file = Path(state_file)
    with map_errors("eth_chainId", w3):
        chain_id = int(w3.eth.chain_id)
    recorded = _read_state(state_file)
    if recorded and recorded.get("chain_id") == chain_id and isinstance(recorded.get("address"), str):
        if Web3.is_address(recorded["address"]) and registry_code_matches(w3, recorded["address"]):
            return Web3.to_checksum_address(recorded["address"])
    address = deploy_registry(w3, account)
    _write_state(state_file, {"chain_id": chain_id, "address": address, "contract": REGISTRY,
                              "deployed_at": datetime.now(UTC).isoformat(timespec="seconds")})
    return address


def _read_state(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_state(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2)
        fh.write("\n")
    os.replace(tmp, path)
