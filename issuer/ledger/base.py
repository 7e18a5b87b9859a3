"""The issuer's write interface to a ledger: one call, one transaction per batch root (DESIGN.md "Anchoring")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

__all__ = ["AnchorReceipt", "LedgerWriter", "MODES"]

MODES = ("contract", "calldata")


@dataclass(frozen=True)
class AnchorReceipt:
    """A mined (and confirmed) anchoring transaction. ``tx_hash`` goes into the anchor ``blink:eth:<chain>:<tx>``."""

    chain_id: int
    tx_hash: str  # 0x-prefixed lowercase hex
    block_number: int
    block_hash: str
    block_time: datetime  # UTC
    gas_used: int
    sender: str  # EIP-55
    mode: str  # "contract" | "calldata" | "ebsi"
    registry_address: str | None  # set in contract mode (the Timestamp contract for "ebsi")
    # What the credential's anchor names (DESIGN.md "Anchors"): chain "eth" and the transaction hash, or, on the
    # EBSI-like ledger, chain "ebsi" and the timestamp id (``blink:ebsi:<chain id>:<timestamp id>``).
    anchor_chain: str = "eth"
    anchor_id: str | None = None  # None: the transaction hash


@runtime_checkable
class LedgerWriter(Protocol):
    chain_id: int

    def anchor(self, root: bytes) -> AnchorReceipt: ...
