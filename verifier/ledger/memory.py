"""An in-memory ledger: the test double for both sides (a repository simulator, as python-tuf does, not mocks).

It reads like ``LedgerReader`` and ``RegistryReader`` and writes like the issuer's ``LedgerWriter`` (``chain_id``,
``anchor(root)``, ``publish_status(list_id, digest)``, ``record_key_event(key_id, kind, detail)``), duck-typed: the
verifier never imports the issuer. It can go down (``set_available(False)``) and reorg
(``reorg(depth)`` drops the newest blocks and the anchors in them).
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from verifier.ledger.base import (
    KEY_EVENT_KINDS,
    AnchorEvidence,
    AnchorRef,
    KeyEvent,
    StatusPublication,
    StatusRecord,
    to_checksum_address,
)
from verifier.ledger.errors import (
    AlreadyAnchoredError,
    InvalidAnchorRefError,
    LedgerUnavailableError,
    UnknownChainError,
)

__all__ = ["MemoryLedger", "MemoryReceipt"]

DEFAULT_SENDER = "0x" + "11" * 20
DEFAULT_REGISTRY = "0x" + "22" * 20
DEFAULT_START = datetime(2025, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class MemoryReceipt:
    """Same fields as ``issuer.ledger.base.AnchorReceipt``."""

    chain_id: int
    tx_hash: str
    block_number: int
    block_hash: str
    block_time: datetime
    gas_used: int
    sender: str
    mode: str
    registry_address: str | None


@dataclass(frozen=True)
class _Tx:
    tx_hash: str
    root: bytes
    sender: str
    mode: str
    block_number: int


@dataclass(frozen=True)
class _Event:
    """A registry log: a status publication (``kind`` 0) or a key event (``kind`` 1..3)."""

    tx_hash: str
    sender: str
    subject: bytes  # list id or key id
    kind: int
    value: bytes  # digest or detail
    version: int
    block_number: int


class MemoryLedger:
    """One block per anchor, block times ``block_interval`` apart from ``start``; thread-safe."""

    def __init__(self, *, chain_id: int = 31337, sender: str = DEFAULT_SENDER, mode: str = "contract",
                 registry_address: str | None = DEFAULT_REGISTRY, start: datetime = DEFAULT_START,
                 block_interval: timedelta = timedelta(seconds=12), gas_used: int = 45_000):
        if mode not in ("contract", "calldata"):
            raise ValueError(f"mode must be 'contract' or 'calldata', got {mode!r}")
        if mode == "contract" and registry_address is None:
            raise ValueError("contract mode needs a registry address")
        self.chain_id = chain_id
        self.sender = to_checksum_address(sender)
        self.mode = mode
        self.registry_address = to_checksum_address(registry_address) if registry_address else None
        self._start = start
        self._interval = block_interval
        self._gas_used = gas_used
        self._height = 0  # genesis is block 0
        self._reorgs = 0
        self._epoch_of: dict[int, int] = {}  # height -> reorg count when mined: a re-mined height gets a new hash
        self._txs: dict[str, _Tx] = {}
        self._events: list[_Event] = []  # registry logs, in chain order
        self._available = True
        self._lock = threading.Lock()
        self.reads = 0

    # -- simulation controls ---------------------------------------------------------------------------------------

    def set_available(self, available: bool) -> None:
        self._available = available

    def mine(self, n: int = 1) -> int:
        """Adds ``n`` empty blocks; returns the new height."""
        if n < 0:
            raise ValueError(f"cannot mine a negative number of blocks ({n})")
        with self._lock:
            for height in range(self._height + 1, self._height + n + 1):
                self._epoch_of[height] = self._reorgs
            self._height += n
            return self._height

    def reorg(self, depth: int) -> list[str]:
        """Drops the newest ``depth`` blocks; returns the hashes of the transactions that vanished with them."""
        with self._lock:
            if not 0 < depth <= self._height:
                raise ValueError(f"reorg depth must be in 1..{self._height}, got {depth}")
            cut = self._height - depth
            gone = [h for h, tx in self._txs.items() if tx.block_number > cut]
            for h in gone:
                del self._txs[h]
            gone += [e.tx_hash for e in self._events if e.block_number > cut]
            self._events = [e for e in self._events if e.block_number <= cut]
            for height in range(cut + 1, self._height + 1):
                self._epoch_of.pop(height, None)
            self._height = cut
            self._reorgs += 1
            return gone

    @property
    def block_number(self) -> int:
        return self._height

    # -- writer ----------------------------------------------------------------------------------------------------

    def anchor(self, root: bytes) -> MemoryReceipt:
        _check_root(root)
        with self._lock:
            self._ensure_available()
            if self.mode == "contract":
                existing = self._registry_record(root)
                if existing is not None:
                    raise AlreadyAnchoredError(root, existing.sender, self._block_time(existing.block_number))
            self._height += 1
            self._epoch_of[self._height] = self._reorgs
            tx_hash = "0x" + hashlib.sha256(b"tx|%d|%d|%d|" % (self.chain_id, self._height, self._reorgs) + root).hexdigest()
            tx = _Tx(tx_hash, bytes(root), self.sender, self.mode, self._height)
            self._txs[tx_hash] = tx
            return MemoryReceipt(self.chain_id, tx_hash, tx.block_number, self._block_hash(tx.block_number),
                                 self._block_time(tx.block_number), self._gas_used, self.sender, self.mode,
                                 self.registry_address if self.mode == "contract" else None)

    def publish_status(self, list_id: bytes, digest: bytes, *, sender: str | None = None) -> MemoryReceipt:
        """``AnchorRegistry.publishStatus``: the next version of ``sender``'s list (default: the ledger's sender)."""
        _check_word(list_id, "list id")
        _check_word(digest, "digest")
        if bytes(digest) == bytes(32):
            raise ValueError("the zero digest cannot be published")
        publisher = to_checksum_address(sender) if sender else self.sender
        with self._lock:
            version = 1 + sum(1 for e in self._events if e.kind == 0 and e.sender == publisher and e.subject == list_id)
            return self._log(publisher, bytes(list_id), 0, bytes(digest), version)

    def record_key_event(self, key_id: bytes, kind: int, detail: bytes, *, sender: str | None = None) -> MemoryReceipt:
        """``AnchorRegistry.recordKeyEvent``: a key event of ``sender`` (default: the ledger's sender)."""
        _check_word(key_id, "key id")
        _check_word(detail, "detail")
        if kind not in KEY_EVENT_KINDS:
            raise ValueError(f"key event kind must be one of {sorted(KEY_EVENT_KINDS)}, got {kind!r}")
        controller = to_checksum_address(sender) if sender else self.sender
        with self._lock:
            return self._log(controller, bytes(key_id), kind, bytes(detail), 0)

    def _log(self, sender: str, subject: bytes, kind: int, value: bytes, version: int) -> MemoryReceipt:
        self._ensure_available()
        if self.mode != "contract":
            raise ValueError("the registry's status and key events need contract mode")
        self._height += 1
        self._epoch_of[self._height] = self._reorgs
        tx_hash = "0x" + hashlib.sha256(b"log|%d|%d|%d|" % (self.chain_id, self._height, self._reorgs) + subject
                                        + value).hexdigest()
        self._events.append(_Event(tx_hash, sender, subject, kind, value, version, self._height))
        return MemoryReceipt(self.chain_id, tx_hash, self._height, self._block_hash(self._height),
                             self._block_time(self._height), self._gas_used, sender, self.mode, self.registry_address)

    # -- reader ----------------------------------------------------------------------------------------------------

    def status_of(self, chain_id: int, registry: str | None, publisher: str, list_id: bytes) -> StatusRecord | None:
        history = self.status_history(chain_id, registry, publisher, list_id)
        if not history:
            return None
        latest = history[-1]
        return StatusRecord(latest.digest, latest.version, latest.time)

    def status_history(self, chain_id: int, registry: str | None, publisher: str,
                       list_id: bytes) -> list[StatusPublication]:
        publisher = to_checksum_address(publisher)
        return [StatusPublication(e.value, e.version, self._block_time(e.block_number), e.tx_hash, e.block_number)
                for e in self._registry_events(chain_id, registry)
                if e.kind == 0 and e.sender == publisher and e.subject == bytes(list_id)]

    def key_events(self, chain_id: int, registry: str | None, controller: str) -> list[KeyEvent]:
        controller = to_checksum_address(controller)
        return [KeyEvent(e.subject, e.kind, e.value, self._block_time(e.block_number), e.tx_hash, e.block_number)
                for e in self._registry_events(chain_id, registry) if e.kind != 0 and e.sender == controller]

    def _registry_events(self, chain_id: int, registry: str | None) -> list[_Event]:
        with self._lock:
            self._ensure_available()
            self.reads += 1
            if chain_id != self.chain_id:
                raise UnknownChainError(chain_id, [self.chain_id])
            if self.registry_address is None or (registry is not None
                                                 and to_checksum_address(registry) != self.registry_address):
                return []  # no registry there: nothing was ever published on it
            return list(self._events)

    # -- reader ----------------------------------------------------------------------------------------------------

    def read_anchor(self, ref: AnchorRef, root: bytes) -> AnchorEvidence | None:
        _check_root(root)
        with self._lock:
            self._ensure_available()
            self.reads += 1
            if ref.chain_id != self.chain_id:
                return None
            tx = self._txs.get(ref.tx_hash)
            if tx is None:
                return None
            registry_sender = registry_time = None
            if tx.mode == "contract":
                record = self._registry_record(root)
                if record is not None:
                    registry_sender, registry_time = record.sender, self._block_time(record.block_number)
            return AnchorEvidence(
                chain_id=self.chain_id, tx_hash=tx.tx_hash, block_number=tx.block_number,
                block_hash=self._block_hash(tx.block_number), block_time=self._block_time(tx.block_number),
                sender=tx.sender, to=self.registry_address if tx.mode == "contract" else tx.sender,
                status_ok=True, mode=tx.mode, carried_root=tx.root,
                registry_sender=registry_sender, registry_time=registry_time,
                latest_block=self._height, confirmations=self._height - tx.block_number + 1,
            )

    # -- internals -------------------------------------------------------------------------------------------------

    def _ensure_available(self) -> None:
        if not self._available:
            raise LedgerUnavailableError(f"in-memory ledger for chain {self.chain_id} is set unavailable")

    def _registry_record(self, root: bytes) -> _Tx | None:
        for tx in self._txs.values():
            if tx.mode == "contract" and tx.root == root:
                return tx
        return None

    def _block_time(self, number: int) -> datetime:
        return self._start + number * self._interval

    def _block_hash(self, number: int) -> str:
        return "0x" + hashlib.sha256(b"block|%d|%d|%d" % (self.chain_id, number, self._epoch_of.get(number, 0))).hexdigest()


def _check_word(value: bytes, what: str) -> None:
    if not isinstance(value, (bytes, bytearray)) or len(value) != 32:
        raise ValueError(f"{what} must be 32 bytes, got {value!r}")


def _check_root(root: bytes) -> None:
    if not isinstance(root, (bytes, bytearray)) or len(root) != 32:
        raise InvalidAnchorRefError(f"root must be 32 bytes, got {root!r}")
