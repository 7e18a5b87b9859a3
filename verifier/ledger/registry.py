"""AnchorRegistry's status-list and key-event interface, encoded and decoded by hand (no web3 in the verifier).

Pure functions: calldata for ``statusOf`` / ``publishStatus`` / ``recordKeyEvent``, the answer of ``statusOf``, the
``StatusPublished`` and ``KeyEventRecorded`` logs, and the block windows of an ``eth_getLogs`` scan (bounded: a node
answers a bounded range, and an unbounded history is a denial of service). The issuer's writers encode their calls
with the same functions, so both sides cannot drift apart (tests check them against the compiled ABI).

ABI encoding: Solidity ABI spec, "Function Selector and Argument Encoding" — every static argument is one 32-byte word
(addresses and uint8/uint64 left-padded with zeros); an event's indexed static arguments are its topics 1..n, the
others its data, one word each.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from verifier.ledger.base import (
    KEY_EVENT_KINDS,
    KeyEvent,
    StatusPublication,
    StatusRecord,
    keccak256,
    to_checksum_address,
)
from verifier.ledger.errors import LedgerResponseError
from verifier.ledger.hexjson import hex_bytes, quantity

__all__ = [
    "KEY_EVENT_RECORDED_TOPIC", "PUBLISH_STATUS_SELECTOR", "RECORD_KEY_EVENT_SELECTOR", "STATUS_OF_SELECTOR",
    "STATUS_PUBLISHED_TOPIC", "address_topic", "block_windows", "decode_key_event_log", "decode_status_log",
    "decode_status_of", "publish_status_data", "record_key_event_data", "status_of_data", "status_selectors",
]

STATUS_OF_SELECTOR = keccak256(b"statusOf(address,bytes32)")[:4]
PUBLISH_STATUS_SELECTOR = keccak256(b"publishStatus(bytes32,bytes32)")[:4]
RECORD_KEY_EVENT_SELECTOR = keccak256(b"recordKeyEvent(bytes32,uint8,bytes32)")[:4]
STATUS_PUBLISHED_TOPIC = keccak256(b"StatusPublished(address,bytes32,bytes32,uint64,uint64)")
KEY_EVENT_RECORDED_TOPIC = keccak256(b"KeyEventRecorded(address,bytes32,uint8,bytes32,uint64)")

_UINT64_MAX = 2**64 - 1


def status_selectors() -> dict[str, bytes]:
    """The selectors of this module by signature (checked against the artifact's ABI in tests)."""
    return {
        "statusOf(address,bytes32)": STATUS_OF_SELECTOR,
        "publishStatus(bytes32,bytes32)": PUBLISH_STATUS_SELECTOR,
        "recordKeyEvent(bytes32,uint8,bytes32)": RECORD_KEY_EVENT_SELECTOR,
    }


def _word32(value: bytes, what: str) -> bytes:
    if not isinstance(value, (bytes, bytearray)) or len(value) != 32:
        raise ValueError(f"{what} must be 32 bytes, got {value!r}")
    return bytes(value)


def address_topic(address: str) -> bytes:
    """An address as one ABI word (12 zero bytes, then the 20 bytes): its form as an argument and as a topic."""
    return bytes(12) + bytes.fromhex(to_checksum_address(address)[2:])


def status_of_data(publisher: str, list_id: bytes) -> bytes:
    return STATUS_OF_SELECTOR + address_topic(publisher) + _word32(list_id, "list id")


def publish_status_data(list_id: bytes, digest: bytes) -> bytes:
    digest = _word32(digest, "digest")
    if digest == bytes(32):
        raise ValueError("the zero digest cannot be published (the registry refuses it: it reads as 'never published')")
    return PUBLISH_STATUS_SELECTOR + _word32(list_id, "list id") + digest


def record_key_event_data(key_id: bytes, kind: int, detail: bytes) -> bytes:
    if kind not in KEY_EVENT_KINDS:
        raise ValueError(f"key event kind must be one of {sorted(KEY_EVENT_KINDS)} ({KEY_EVENT_KINDS}), got {kind!r}")
    return RECORD_KEY_EVENT_SELECTOR + _word32(key_id, "key id") + kind.to_bytes(32, "big") + _word32(detail, "detail")


def _utc(timestamp: int) -> datetime:
    try:
        return datetime.fromtimestamp(timestamp, tz=UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise LedgerResponseError(f"registry time {timestamp} is not a representable time") from exc


def _uint(word: bytes, limit: int, what: str) -> int:
    value = int.from_bytes(word, "big")
    if value > limit:
        raise LedgerResponseError(f"{what}: {value} does not fit its ABI type (at most {limit})")
    return value


def decode_status_of(out: bytes) -> StatusRecord | None:
    """The answer of ``statusOf``: three words (digest, version, time); ``None`` for a list never published."""
    if len(out) != 96:
        raise LedgerResponseError(f"statusOf: expected 96 bytes (bytes32, uint64, uint64), got {len(out)}")
    digest = out[:32]
    version = _uint(out[32:64], _UINT64_MAX, "statusOf version")
    when = _uint(out[64:96], _UINT64_MAX, "statusOf time")
    if version == 0:
        if digest != bytes(32):
            raise LedgerResponseError("statusOf: a digest with version 0 (the registry never answers that)")
        return None
    return StatusRecord(digest, version, _utc(when))


# ---------------------------------------------------------------------------------------------------------- logs


def _log_parts(log: Any, topic0: bytes, n_topics: int, n_words: int, what: str) -> tuple[list[bytes], bytes, str, int]:
    if not isinstance(log, dict):
        raise LedgerResponseError(f"{what} log: expected an object, got {type(log).__name__}")
    topics = [hex_bytes(t, f"{what} log topic") for t in log.get("topics") or []]
    if len(topics) != n_topics or topics[0] != topic0:
        raise LedgerResponseError(f"{what} log: unexpected topics {[t.hex() for t in topics]}")
    data = hex_bytes(log.get("data", "0x"), f"{what} log data")
    if len(data) != 32 * n_words:
        raise LedgerResponseError(f"{what} log: expected {32 * n_words} bytes of data, got {len(data)}")
    tx_hash = hex_bytes(log.get("transactionHash"), f"{what} log transactionHash")
    if len(tx_hash) != 32:
        raise LedgerResponseError(f"{what} log: transactionHash is {len(tx_hash)} bytes, expected 32")
    return topics, data, "0x" + tx_hash.hex(), quantity(log.get("blockNumber"), f"{what} log blockNumber")


def decode_status_log(log: Any) -> StatusPublication:
    """``StatusPublished(address indexed publisher, bytes32 indexed listId, bytes32 digest, uint64 version, uint64
    time)``: topics [sig, publisher, listId], data [digest, version, time]."""
    _topics, data, tx_hash, block = _log_parts(log, STATUS_PUBLISHED_TOPIC, 3, 3, "StatusPublished")
    version = _uint(data[32:64], _UINT64_MAX, "StatusPublished version")
    return StatusPublication(data[:32], version, _utc(_uint(data[64:96], _UINT64_MAX, "StatusPublished time")),
                             tx_hash, block)


def decode_key_event_log(log: Any) -> KeyEvent:
    """``KeyEventRecorded(address indexed controller, bytes32 indexed keyId, uint8 kind, bytes32 detail, uint64
    time)``: topics [sig, controller, keyId], data [kind, detail, time]."""
    topics, data, tx_hash, block = _log_parts(log, KEY_EVENT_RECORDED_TOPIC, 3, 3, "KeyEventRecorded")
    kind = _uint(data[:32], 255, "KeyEventRecorded kind")
    if kind not in KEY_EVENT_KINDS:
        raise LedgerResponseError(f"KeyEventRecorded: unknown kind {kind} (the registry refuses it)")
    return KeyEvent(topics[2], kind, data[32:64], _utc(_uint(data[64:96], _UINT64_MAX, "KeyEventRecorded time")),
                    tx_hash, block)


def block_windows(from_block: int, latest: int, *, chunk: int, max_blocks: int) -> Iterator[tuple[int, int]]:
    """Inclusive (first, last) block ranges covering ``from_block..latest``, ``chunk`` blocks each.

    A history longer than ``max_blocks`` is refused (``LedgerResponseError``) rather than read in part: a partial key
    history could hide a revocation, so the check must say "could not read", never decide on half of it.
    """
    if chunk < 1 or max_blocks < 1:
        raise ValueError(f"chunk and max_blocks must be >= 1, got {chunk} and {max_blocks}")
    if from_block < 0:
        raise ValueError(f"from_block must be >= 0, got {from_block}")
    if latest < from_block:
        return
    span = latest - from_block + 1
    if span > max_blocks:
        raise LedgerResponseError(
            f"registry history spans {span} blocks ({from_block}..{latest}), more than the {max_blocks} this "
            "verifier reads; configure the registry's deployment block as the start of its logs")
    first = from_block
    while first <= latest:
        last = min(latest, first + chunk - 1)
        yield first, last
        first = last + 1
