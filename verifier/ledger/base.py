"""What a ledger says about an anchoring transaction, and the one-method interface that reads it.

The reader gathers evidence; judging it (is the root the recomputed one, is the sender the issuer's key, enough
confirmations?) is the anchor check's job (DESIGN.md "Verification"). ``None`` means the ledger knows no such mined
transaction; a ledger that cannot answer raises ``LedgerUnavailableError``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple, Protocol, runtime_checkable

from verifier import keys
from verifier.keys import keccak256
from verifier.ledger.errors import InvalidAnchorRefError

__all__ = [
    "KEY_ADDED", "KEY_EVENT_KINDS", "KEY_RETIRED", "KEY_REVOKED", "AnchorEvidence", "AnchorRef", "KeyEvent",
    "LedgerReader", "RegistryReader", "StatusPublication", "StatusRecord", "key_id_of", "keccak256", "list_id_of",
    "to_checksum_address",
]

# Key event kinds of AnchorRegistry.recordKeyEvent (contracts/AnchorRegistry.sol).
KEY_ADDED, KEY_RETIRED, KEY_REVOKED = 1, 2, 3
KEY_EVENT_KINDS = {KEY_ADDED: "added", KEY_RETIRED: "retired", KEY_REVOKED: "revoked"}

_TX_HASH = re.compile(r"0x[0-9a-f]{64}")
_EBSI_TIMESTAMP_ID = re.compile(r"uEi[A-D][A-Za-z0-9_-]{43}")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


def to_checksum_address(address: str) -> str:
    """EIP-55 mixed-case checksum form of a 20-byte hex address (the ledger's error when it is not one)."""
    if not isinstance(address, str) or not _ADDRESS.fullmatch(address):
        raise InvalidAnchorRefError(f"expected a 0x-prefixed 20-byte hex address, got {address!r}")
    return keys.to_checksum_address(address)


@dataclass(frozen=True)
class AnchorRef:
    """A Blockcerts anchor ``blink:eth:<network>:<0xtxhash>``, already parsed: the network is an EIP-155 chain id.

    ``ledger`` is "eth" for an EVM transaction, or "ebsi" for the EBSI-like ledger, whose anchors name a timestamp id
    (``blink:ebsi:<chain id>:<timestamp id>``) in ``tx_hash``.
    """

    chain_id: int
    tx_hash: str  # 0x-prefixed lowercase hex; for ledger "ebsi", the timestamp id
    ledger: str = "eth"

    def __post_init__(self) -> None:
        if isinstance(self.chain_id, bool) or not isinstance(self.chain_id, int) or self.chain_id <= 0:
            raise InvalidAnchorRefError(f"chain id must be a positive integer, got {self.chain_id!r}")
        if self.ledger == "ebsi":
            if not isinstance(self.tx_hash, str) or not _EBSI_TIMESTAMP_ID.fullmatch(self.tx_hash):
                raise InvalidAnchorRefError(f"EBSI timestamp id must be 'uEi' + 44 base64url characters, "
                                            f"got {self.tx_hash!r:.80}")
            return
        if self.ledger != "eth":
            raise InvalidAnchorRefError(f"ledger must be 'eth' or 'ebsi', got {self.ledger!r}")
        if not isinstance(self.tx_hash, str) or not _TX_HASH.fullmatch(self.tx_hash):
            raise InvalidAnchorRefError(
                f"transaction hash must be 0x followed by 64 lowercase hex digits, got {self.tx_hash!r}"
            )


@dataclass(frozen=True)
class AnchorEvidence:
    """What the ledger says about one anchoring transaction, as of ``latest_block``."""

    chain_id: int
    tx_hash: str
    block_number: int
    block_hash: str
    block_time: datetime  # UTC, the block's timestamp
    sender: str  # EIP-55
    to: str | None  # EIP-55, None for a contract creation
    status_ok: bool  # receipt status 1
    # "contract": anchor(bytes32) on the configured registry; "call": anchor(bytes32) on another (or an unconfigured)
    # contract, registry not consulted; "calldata": anything else (the root, if any, is the whole input)
    mode: str
    carried_root: bytes | None  # the 32-byte root the transaction carries, None if it carries none
    registry_sender: str | None  # anchorOf(root) in contract mode; None if not anchored or not contract mode
    registry_time: datetime | None
    latest_block: int
    confirmations: int  # latest_block - block_number + 1


@runtime_checkable
class LedgerReader(Protocol):
    """Reads the evidence of one anchor. ``root`` is the root the verifier expects (used to read the registry)."""

    def read_anchor(self, ref: AnchorRef, root: bytes) -> AnchorEvidence | None: ...


# --------------------------------------------------------------------------- status lists and key events (issue 4)


def list_id_of(status_list_url: str) -> bytes:
    """The registry's id of a status list: keccak256 of the UTF-8 of its credential's URL (issue 4 spec)."""
    if not isinstance(status_list_url, str) or not status_list_url:
        raise ValueError(f"status list URL must be a non-empty string, got {status_list_url!r}")
    return keccak256(status_list_url.encode("utf-8"))


def key_id_of(verification_method_id: str) -> bytes:
    """The registry's id of a key: keccak256 of the UTF-8 of its verification method id (``did:web:host#key-2``)."""
    if not isinstance(verification_method_id, str) or not verification_method_id:
        raise ValueError(f"verification method id must be a non-empty string, got {verification_method_id!r}")
    return keccak256(verification_method_id.encode("utf-8"))


class StatusRecord(NamedTuple):
    """``AnchorRegistry.statusOf(publisher, listId)``: the latest publication of a list."""

    digest: bytes  # 32 bytes: SHA-256 of the canonical N-Quads of the signed status list credential
    version: int  # 1 for the first publication, +1 each time
    time: datetime  # UTC block time of the latest publication


class StatusPublication(NamedTuple):
    """One ``StatusPublished`` event of a list (its history, oldest first)."""

    digest: bytes
    version: int
    time: datetime
    tx_hash: str
    block_number: int


class KeyEvent(NamedTuple):
    """One ``KeyEventRecorded`` event of a controller (oldest first)."""

    key_id: bytes  # keccak256 of the verification method id
    kind: int  # KEY_ADDED, KEY_RETIRED or KEY_REVOKED
    detail: bytes  # SHA-256 of the verification method's canonical JSON; zero for a revocation
    time: datetime
    tx_hash: str
    block_number: int


@runtime_checkable
class RegistryReader(Protocol):
    """Reads what AnchorRegistry keeps besides anchors. ``registry`` None means the one configured for the chain.

    ``None`` from ``status_of`` means the list was never published by that publisher; a ledger that cannot answer
    raises ``LedgerUnavailableError`` (never an empty answer that would read as "no events").
    """

    def status_of(self, chain_id: int, registry: str | None, publisher: str, list_id: bytes) -> StatusRecord | None: ...

    def status_history(self, chain_id: int, registry: str | None, publisher: str,
                       list_id: bytes) -> list[StatusPublication]: ...

    def key_events(self, chain_id: int, registry: str | None, controller: str) -> list[KeyEvent]: ...
