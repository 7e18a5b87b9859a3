"""Reading anchors from any EVM JSON-RPC node, with no web3 dependency (an employer installs only the verifier).

Calls are encoded by hand: every argument of the registry's functions is one 32-byte word, so the ABI encoding is a
4-byte selector (Keccak-256 of the signature) followed by the words (Solidity ABI spec, "Function Selector and
Argument Encoding"); the status and key-event calls and logs are in ``verifier.ledger.registry``. Foreign errors
(httpx, a provider) are mapped to ``verifier.ledger.errors`` at the boundary.
"""

from __future__ import annotations

import itertools
import json
from urllib.parse import urlsplit
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx

from verifier.errors import AnchorcredError
from verifier.ledger.base import (
    AnchorEvidence,
    AnchorRef,
    KeyEvent,
    StatusPublication,
    StatusRecord,
    keccak256,
    to_checksum_address,
)
from verifier.ledger.errors import (
    ChainMismatchError,
    InvalidAnchorRefError,
    LedgerResponseError,
    LedgerRpcError,
    RegistryNotConfiguredError,
    UnknownChainError,
)
from verifier.ledger.hexjson import hex_bytes, quantity
from verifier.ledger.httpio import exchange
from verifier.ledger.registry import (
    KEY_EVENT_RECORDED_TOPIC,
    STATUS_PUBLISHED_TOPIC,
    address_topic,
    block_windows,
    decode_key_event_log,
    decode_status_log,
    decode_status_of,
    status_of_data,
)
from verifier.ledger.routing import CachingReader, LedgerRouter  # re-exported: callers import them from here

__all__ = [
    "ANCHOR_OF_SELECTOR",
    "ANCHOR_SELECTOR",
    "CachingReader",
    "EvmReader",
    "HttpTransport",
    "LedgerRouter",
    "ProviderTransport",
    "Transport",
    "registry_selectors",
]


def _selector(signature: str) -> bytes:
    return keccak256(signature.encode("ascii"))[:4]


ANCHOR_SELECTOR = _selector("anchor(bytes32)")
ANCHOR_OF_SELECTOR = _selector("anchorOf(bytes32)")


def registry_selectors() -> dict[str, bytes]:
    """The AnchorRegistry function selectors the reader relies on, by signature."""
    return {"anchor(bytes32)": ANCHOR_SELECTOR, "anchorOf(bytes32)": ANCHOR_OF_SELECTOR}


class Transport(Protocol):
    """One JSON-RPC call: method and params in, the ``result`` member out (like an httpx transport, one method)."""

    def request(self, method: str, params: list) -> Any: ...


# ---------------------------------------------------------------------------------------------------------------- HTTP

DEFAULT_MAX_RESPONSE_BYTES = 4 * 1024 * 1024  # a block without transaction bodies is a few KiB; refuse floods


class HttpTransport:
    """JSON-RPC 2.0 over HTTP(S) with httpx: a timeout on every call and a cap on the response size."""

    def __init__(self, url: str, *, timeout: float = 5.0, max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
                 client: httpx.Client | None = None):
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"ledger RPC URL must be http(s), got {url!r}")
        self.url = url
        self.where = redact_url(url)  # for messages: never the credentials an RPC URL may carry
        self._max = max_response_bytes
        self._client = client or httpx.Client(timeout=timeout)
        self._ids = itertools.count(1)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, method: str, params: list) -> Any:
        body = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
        status, raw = exchange(self._client, "POST", self.url, f"{method} on {self.where}", self._max, json=body)
        if status != 200:
            raise LedgerRpcError(f"{method} on {self.where}: HTTP status {status}, expected 200")
        try:
            message = json.loads(raw)
        except ValueError as exc:
            raise LedgerResponseError(f"{method} on {self.where}: answer is not JSON") from exc
        return _result_of(method, message)


def _result_of(method: str, message: Any) -> Any:
    if not isinstance(message, dict):
        raise LedgerResponseError(f"{method}: JSON-RPC answer must be an object, got {type(message).__name__}")
    error = message.get("error")
    if error is not None:
        code = error.get("code") if isinstance(error, dict) else None
        text = error.get("message") if isinstance(error, dict) else str(error)
        raise LedgerRpcError(f"{method}: node answered with an error: {text}", code=code)
    if "result" not in message:
        raise LedgerResponseError(f"{method}: JSON-RPC answer has neither result nor error")
    return message["result"]


# ---------------------------------------------------------------------------------------------- in-process provider


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _camelize(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {_camel(str(k)): _camelize(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_camelize(v) for v in value]
    return value


_ZERO_ADDRESS = "0x" + "00" * 20


def _tester_filter(query: dict) -> dict:
    """A JSON-RPC ``eth_getLogs`` filter as eth-tester's provider takes it: snake_case keys, integer blocks."""
    names = {"fromBlock": "from_block", "toBlock": "to_block", "address": "address", "topics": "topics"}
    out: dict[str, Any] = {}
    for key, value in query.items():
        if key not in names:
            raise ValueError(f"eth_getLogs filter key {key!r} is not supported in process")
        if key in ("fromBlock", "toBlock") and isinstance(value, str) and value.startswith("0x"):
            value = int(value, 16)
        out[names[key]] = value
    return out


class ProviderTransport:
    """Wraps a web3-style provider (anything with ``make_request(method, params) -> dict``), duck-typed.

    Meant for the embedded chain (eth-tester): its provider answers with Python values and snake_case keys, so keys
    are camel-cased here and the reader accepts ints as well as hex quantities (and its ``eth_getLogs`` takes a
    snake_case filter with integer blocks, so the filter is translated). eth-tester also requires ``from`` in
    ``eth_call`` and charges the call's gas to it, which JSON-RPC nodes do not: calls get ``call_from`` (default: the
    provider's first account) and a bounded ``gas`` when they lack them.
    """

    CALL_GAS = 1_000_000

    def __init__(self, provider: Any, *, call_from: str | None = None):
        if not callable(getattr(provider, "make_request", None)):
            raise ValueError("provider must have a make_request(method, params) method")
        self._provider = provider
        self._call_from = call_from

    def _caller(self) -> str:
        if self._call_from is None:
            accounts = self._raw("eth_accounts", [])
            self._call_from = accounts[0] if accounts else _ZERO_ADDRESS
        return self._call_from

    def request(self, method: str, params: list) -> Any:
        if method == "eth_call" and params and isinstance(params[0], dict):
            params = [{"from": self._caller(), "gas": self.CALL_GAS, **params[0]}, *params[1:]]
        if method == "eth_getLogs" and params and isinstance(params[0], dict):
            params = [_tester_filter(params[0])]
        return _camelize(self._raw(method, params))

    def _raw(self, method: str, params: list) -> Any:
        try:
            message = self._provider.make_request(method, params)
        except AnchorcredError:
            raise
        except Exception as exc:  # a provider may raise anything; all of it means "no evidence from this ledger"
            raise LedgerRpcError(f"{method}: provider failed: {type(exc).__name__}: {exc}") from exc
        return _result_of(method, dict(message))


# ------------------------------------------------------------------------------------------------------------- reader


def _hash(value: Any, what: str) -> str:
    data = hex_bytes(value, what)
    if len(data) != 32:
        raise LedgerResponseError(f"{what}: expected a 32-byte hash, got {len(data)} bytes")
    return "0x" + data.hex()


def _address(value: Any, what: str) -> str | None:
    if value is None or value == "":
        return None
    data = hex_bytes(value, what)
    if len(data) != 20:
        raise LedgerResponseError(f"{what}: expected a 20-byte address, got {len(data)} bytes")
    return to_checksum_address("0x" + data.hex())


def _field(obj: dict, name: str, what: str) -> Any:
    if name not in obj:
        raise LedgerResponseError(f"{what}: answer lacks field {name!r}")
    return obj[name]


def _utc(timestamp: int) -> datetime:
    try:
        return datetime.fromtimestamp(timestamp, tz=UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise LedgerResponseError(f"block timestamp {timestamp} is not a representable time") from exc


def redact_url(url: str) -> str:
    """scheme://host[:port] of a URL: what a message may show (user:password@ and API keys in paths stay out)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<unparseable URL>"
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{host}{port}"


class EvmReader:
    """Reads anchor evidence from one EVM chain through a transport.

    Per read: the transaction, its receipt, its block, the latest block number and, when the transaction called the
    configured registry, ``anchorOf(root)``. The node's chain id is checked once against the configured one.
    """

    def __init__(self, transport: Transport, *, chain_id: int, registry_address: str | None = None,
                 log_from_block: int = 0, log_chunk_blocks: int = 10_000, max_log_blocks: int = 2_000_000):
        self._transport = transport
        self.chain_id = chain_id
        self.registry_address = to_checksum_address(registry_address) if registry_address else None
        self._chain_checked = False
        # Registry logs (status history, key events) are read from ``log_from_block`` (the registry's deployment
        # block on a long chain) in windows a node accepts; a longer history is refused, never read in part.
        self.log_from_block = log_from_block
        self.log_chunk_blocks = log_chunk_blocks
        self.max_log_blocks = max_log_blocks

    def read_anchor(self, ref: AnchorRef, root: bytes) -> AnchorEvidence | None:
        if ref.chain_id != self.chain_id:
            raise UnknownChainError(ref.chain_id, [self.chain_id])
        if not isinstance(root, (bytes, bytearray)) or len(root) != 32:
            raise InvalidAnchorRefError(f"root must be 32 bytes, got {root!r}")
        self._check_chain()
        tx = self._call("eth_getTransactionByHash", [ref.tx_hash])
        if tx is None:
            return None
        if not isinstance(tx, dict):
            raise LedgerResponseError(f"eth_getTransactionByHash: expected an object, got {type(tx).__name__}")
        if tx.get("blockNumber") is None or tx.get("blockHash") is None:
            return None  # pending: not on the chain yet, so no anchor yet
        receipt = self._call("eth_getTransactionReceipt", [ref.tx_hash])
        if receipt is None:
            return None
        block_hash = _hash(_field(tx, "blockHash", "transaction"), "transaction blockHash")
        block = self._call("eth_getBlockByHash", [block_hash, False])
        if block is None:
            return None  # reorged away between the two calls
        latest = quantity(self._call("eth_blockNumber", []), "eth_blockNumber")
        return self._evidence(ref, bytes(root), tx, receipt, block, latest)

    def _evidence(self, ref: AnchorRef, root: bytes, tx: dict, receipt: dict, block: dict, latest: int) -> AnchorEvidence:
        block_number = quantity(_field(tx, "blockNumber", "transaction"), "transaction blockNumber")
        to = _address(tx.get("to"), "transaction to")
        data = hex_bytes(tx.get("input", tx.get("data", "0x")), "transaction input")
        mode, carried = self._mode_and_root(to, data)
        registry_sender = registry_time = None
        if mode == "contract":
            registry_sender, registry_time = self._anchor_of(root)
        return AnchorEvidence(
            chain_id=ref.chain_id,
            tx_hash=ref.tx_hash,
            block_number=block_number,
            block_hash=_hash(_field(block, "hash", "block"), "block hash"),
            block_time=_utc(quantity(_field(block, "timestamp", "block"), "block timestamp")),
            sender=_address(_field(tx, "from", "transaction"), "transaction from") or "",
            to=to,
            status_ok=quantity(_field(receipt, "status", "receipt"), "receipt status") == 1,
            mode=mode,
            carried_root=carried,
            registry_sender=registry_sender,
            registry_time=registry_time,
            latest_block=latest,
            confirmations=max(0, latest - block_number + 1),
        )

    def _mode_and_root(self, to: str | None, data: bytes) -> tuple[str, bytes | None]:
        if len(data) == 36 and data[:4] == ANCHOR_SELECTOR:
            if self.registry_address and to == self.registry_address:
                return "contract", data[4:]
            # anchor(root) sent to a contract this verifier was not told about: the signed transaction still carries
            # the root (as calldata does), but no registry record is read or trusted.
            return "call", data[4:]
        # The Blockcerts way: the root is the whole calldata of a plain transaction.
        return "calldata", data if len(data) == 32 else None

    def _anchor_of(self, root: bytes) -> tuple[str | None, datetime | None]:
        call = {"to": self.registry_address, "data": "0x" + (ANCHOR_OF_SELECTOR + root).hex()}
        out = hex_bytes(self._call("eth_call", [call, "latest"]), "anchorOf result")
        if len(out) != 64:
            raise LedgerResponseError(f"anchorOf: expected 64 bytes (address, uint64), got {len(out)}")
        sender = "0x" + out[12:32].hex()
        when = int.from_bytes(out[32:64], "big")
        if int(sender, 16) == 0:
            return None, None
        return to_checksum_address(sender), _utc(when)

    # -- status lists and key events (AnchorRegistry, issue 4) ------------------------------------------------------

    def status_of(self, chain_id: int, registry: str | None, publisher: str, list_id: bytes) -> StatusRecord | None:
        """``statusOf(publisher, listId)`` on the registry (the configured one when ``registry`` is None)."""
        target = self._registry_for(chain_id, registry)
        self._check_chain()
        call = {"to": target, "data": "0x" + status_of_data(publisher, list_id).hex()}
        return decode_status_of(hex_bytes(self._call("eth_call", [call, "latest"]), "statusOf result"))

    def status_history(self, chain_id: int, registry: str | None, publisher: str,
                       list_id: bytes) -> list[StatusPublication]:
        """Every ``StatusPublished`` of ``publisher``'s list, oldest first (from the logs)."""
        target = self._registry_for(chain_id, registry)
        logs = self._logs(target, [STATUS_PUBLISHED_TOPIC, address_topic(publisher), bytes(list_id)])
        return sorted((decode_status_log(log) for log in logs), key=lambda p: (p.version, p.block_number))

    def key_events(self, chain_id: int, registry: str | None, controller: str) -> list[KeyEvent]:
        """Every ``KeyEventRecorded`` of ``controller``, in chain order (from the logs)."""
        target = self._registry_for(chain_id, registry)
        logs = self._logs(target, [KEY_EVENT_RECORDED_TOPIC, address_topic(controller)])
        return [decode_key_event_log(log) for log in logs]

    def _registry_for(self, chain_id: int, registry: str | None) -> str:
        if chain_id != self.chain_id:
            raise UnknownChainError(chain_id, [self.chain_id])
        if registry is not None:
            return to_checksum_address(registry)
        if self.registry_address is None:
            raise RegistryNotConfiguredError(
                f"no AnchorRegistry configured for chain id {chain_id}: status and key history cannot be read")
        return self.registry_address

    def _logs(self, address: str, topics: list[bytes]) -> list[dict]:
        """The registry's logs matching ``topics``, in chain order, over bounded block windows (removed ones out)."""
        self._check_chain()
        latest = quantity(self._call("eth_blockNumber", []), "eth_blockNumber")
        found: list[tuple[int, int, dict]] = []
        for first, last in block_windows(self.log_from_block, latest, chunk=self.log_chunk_blocks,
                                         max_blocks=self.max_log_blocks):
            query = {"address": address, "fromBlock": hex(first), "toBlock": hex(last),
                     "topics": ["0x" + t.hex() for t in topics]}
            logs = self._call("eth_getLogs", [query])
            if not isinstance(logs, list):
                raise LedgerResponseError(f"eth_getLogs: expected a list, got {type(logs).__name__}")
            for log in logs:
                if not isinstance(log, dict):
                    raise LedgerResponseError(f"eth_getLogs: expected log objects, got {type(log).__name__}")
                if log.get("removed"):
                    continue  # reorged away
                if _address(log.get("address"), "log address") != address:
                    raise LedgerResponseError(f"eth_getLogs: a log from {log.get('address')}, asked for {address}")
                order = (quantity(log.get("blockNumber"), "log blockNumber"),
                         quantity(log.get("logIndex", 0), "logIndex"))
                found.append((*order, log))
        found.sort(key=lambda item: item[:2])
        return [log for _b, _i, log in found]

    def _check_chain(self) -> None:
        if self._chain_checked:
            return
        actual = quantity(self._call("eth_chainId", []), "eth_chainId")
        if actual != self.chain_id:
            raise ChainMismatchError(expected=self.chain_id, actual=actual)
        self._chain_checked = True

    def _call(self, method: str, params: list) -> Any:
        try:
            return self._transport.request(method, params)
        except AnchorcredError:
            raise
        except Exception as exc:  # a third-party transport: map whatever it raises at this boundary
            raise LedgerRpcError(f"{method}: transport failed: {type(exc).__name__}: {exc}") from exc
