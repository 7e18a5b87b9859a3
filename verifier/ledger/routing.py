"""Routing reads to the ledger of a chain id, and caching them (a batch, or 1,000 credentials sharing a status list,
costs one ledger read).

Split out of ``verifier.ledger.evm`` (which re-exports both): they wrap any reader, EVM or in-memory.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from verifier.ledger.base import AnchorEvidence, AnchorRef, KeyEvent, LedgerReader, StatusPublication, StatusRecord
from verifier.ledger.errors import RegistryNotConfiguredError, UnknownChainError

__all__ = ["CachingReader", "LedgerRouter"]


class LedgerRouter:
    """Routes each read to the reader configured for the anchor's chain id (like httpx mounts). No fallback."""

    def __init__(self, readers: Mapping[int, LedgerReader]):
        self._readers = dict(readers)

    def _reader(self, chain_id: int) -> Any:
        reader = self._readers.get(chain_id)
        if reader is None:
            raise UnknownChainError(chain_id, list(self._readers))
        return reader

    def read_anchor(self, ref: AnchorRef, root: bytes) -> AnchorEvidence | None:
        return self._reader(ref.chain_id).read_anchor(ref, root)

    def status_of(self, chain_id: int, registry: str | None, publisher: str, list_id: bytes) -> StatusRecord | None:
        return self._registry_reader(chain_id).status_of(chain_id, registry, publisher, list_id)

    def status_history(self, chain_id: int, registry: str | None, publisher: str,
                       list_id: bytes) -> list[StatusPublication]:
        return self._registry_reader(chain_id).status_history(chain_id, registry, publisher, list_id)

    def key_events(self, chain_id: int, registry: str | None, controller: str) -> list[KeyEvent]:
        return self._registry_reader(chain_id).key_events(chain_id, registry, controller)

    def _registry_reader(self, chain_id: int) -> Any:
        reader = self._reader(chain_id)
        if not callable(getattr(reader, "status_of", None)):
            raise RegistryNotConfiguredError(f"the ledger of chain id {chain_id} cannot read an AnchorRegistry")
        return reader


class CachingReader:
    """Caches reads by (chain id, tx hash, root): a batch of 1,000 credentials costs one ledger read.

    Registry reads (status of a list, its history, key events) are cached the same way, by their arguments, so
    1,000 credentials sharing a status list cost one ``statusOf``. Thread-safe, and concurrent reads of the same key
    wait for the first one instead of all going to the ledger. Errors are not cached. ``ttl`` (seconds) bounds how
    stale confirmations and status records may get in a long-lived service.
    """

    def __init__(self, inner: LedgerReader, *, max_entries: int = 4096, ttl: float | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self._inner = inner
        self._max = max_entries
        self._ttl = ttl
        self._clock = clock
        self._entries: OrderedDict[tuple, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self._key_locks: dict[tuple, threading.Lock] = {}
        self.misses = 0

    def read_anchor(self, ref: AnchorRef, root: bytes) -> AnchorEvidence | None:
        return self._cached((ref.chain_id, ref.tx_hash, bytes(root)), lambda: self._inner.read_anchor(ref, root))

    def status_of(self, chain_id: int, registry: str | None, publisher: str, list_id: bytes) -> StatusRecord | None:
        key = ("status_of", chain_id, registry, publisher, bytes(list_id))
        return self._cached(key, lambda: self._inner.status_of(chain_id, registry, publisher, list_id))

    def status_history(self, chain_id: int, registry: str | None, publisher: str,
                       list_id: bytes) -> list[StatusPublication]:
        key = ("status_history", chain_id, registry, publisher, bytes(list_id))
        return list(self._cached(key, lambda: tuple(self._inner.status_history(chain_id, registry, publisher,
                                                                              list_id))))

    def key_events(self, chain_id: int, registry: str | None, controller: str) -> list[KeyEvent]:
        key = ("key_events", chain_id, registry, controller)
        return list(self._cached(key, lambda: tuple(self._inner.key_events(chain_id, registry, controller))))

    def peek(self, ref: AnchorRef, root: bytes) -> tuple[bool, AnchorEvidence | None]:
        """(cached, the evidence) without reading the ledger: a caller can tell whether ``read_anchor`` needs I/O."""
        return self._get((ref.chain_id, ref.tx_hash, bytes(root)))

    def peek_key_events(self, chain_id: int, registry: str | None, controller: str) -> tuple[bool, list[KeyEvent]]:
        """(cached, the events) of ``key_events`` without reading the ledger (the verifier service's fast lane)."""
        hit, value = self._get(("key_events", chain_id, registry, controller))
        return hit, list(value) if hit else []

    def peek_status(self, chain_id: int, registry: str | None, publisher: str,
                    list_id: bytes) -> tuple[bool, StatusRecord | None]:
        """(cached, the record) of ``status_of`` without reading the ledger."""
        return self._get(("status_of", chain_id, registry, publisher, bytes(list_id)))

    def _cached(self, key: tuple, read: Callable[[], Any]) -> Any:
        hit, value = self._get(key)
        if hit:
            return value
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            hit, value = self._get(key)
            if hit:
                return value
            value = read()
            with self._lock:
                self.misses += 1
                self._entries[key] = (self._clock(), value)
                self._entries.move_to_end(key)
                while len(self._entries) > self._max:
                    self._entries.popitem(last=False)
                self._key_locks.pop(key, None)
            return value

    def _get(self, key: tuple) -> tuple[bool, Any]:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return False, None
            stored_at, value = entry
            if self._ttl is not None and self._clock() - stored_at > self._ttl:
                del self._entries[key]
                return False, None
            self._entries.move_to_end(key)
            return True, value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
