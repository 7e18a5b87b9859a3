"""What a ledger says about an anchoring transaction, and the one-method interface that reads it.

The reader gathers evidence; judging it (is the root the recomputed one, is the sender the issuer's key, enough
confirmations?) is the anchor check's job (DESIGN.md "Verification"). ``None`` means the ledger knows no such mined
transaction; a ledger that cannot answer raises ``LedgerUnavailableError``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from verifier import keys
from verifier.keys import keccak256
from verifier.ledger.errors import InvalidAnchorRefError

__all__ = ["AnchorEvidence", "AnchorRef", "LedgerReader", "keccak256", "to_checksum_address"]

_TX_HASH = re.compile(r"0x[0-9a-f]{64}")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


def to_checksum_address(address: str) -> str:
    """EIP-55 mixed-case checksum form of a 20-byte hex address (the ledger's error when it is not one)."""
    if not isinstance(address, str) or not _ADDRESS.fullmatch(address):
        raise InvalidAnchorRefError(f"expected a 0x-prefixed 20-byte hex address, got {address!r}")
    return keys.to_checksum_address(address)


@dataclass(frozen=True)
class AnchorRef:
    """A Blockcerts anchor ``blink:eth:<network>:<0xtxhash>``, already parsed: the network is an EIP-155 chain id."""

    chain_id: int
    tx_hash: str  # 0x-prefixed lowercase hex

    def __post_init__(self) -> None:
        if isinstance(self.chain_id, bool) or not isinstance(self.chain_id, int) or self.chain_id <= 0:
            raise InvalidAnchorRefError(f"chain id must be a positive integer, got {self.chain_id!r}")
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
