"""Status list evidence, gathered at the edge: the list credential (a snapshot given with the credential, a file, or a
fetch through the guarded fetcher) and what the ledger anchored for it (``statusOf`` per anchoring address of the
issuer; the publication history only when the list served is not the latest).

The status check (``verifier.statuscheck``) judges these values and does no I/O. A list document is shared by every
credential that points to it, and its pure results (parsed bitstring, digest, signature by a key) are computed once
and kept on it: 1,000 credentials of one list cost one fetch, one registry read, one canonicalization, one signature
check, then 1,000 bit reads.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from verifier.dataintegrity import verify_eddsa_proof
from verifier.errors import AnchorcredError, EvidenceUnavailableError
from verifier.ledger.base import StatusPublication, StatusRecord, list_id_of
from verifier.status import (
    JUDGED_PURPOSES,
    StatusList,
    StatusListError,
    parse_status_list,
    status_entries,
    status_list_digest,
)

__all__ = ["ListDocument", "ListEvidence", "StatusListSource", "StatusListUnavailableError", "gather_status"]


class StatusListUnavailableError(EvidenceUnavailableError):
    """The status list credential could not be had (not fetched, fetching off, no snapshot)."""


class JsonFetcher(Protocol):
    """What the source needs of ``verifier.fetch.GuardedFetcher``."""

    def fetch_json(self, url: str) -> tuple[str, Any]: ...


class ListDocument:
    """One status list credential as received, with its pure results memoized (benign races: computed twice)."""

    def __init__(self, url: str, document: Any, source: str):
        self.url = url
        self.document = document
        self.source = source  # "fetched from https://…", "snapshot file x.json", "carried with the credential"
        self._parsed: StatusList | StatusListError | None = None
        self._digest: bytes | None = None
        self._signatures: dict[tuple[bytes, str], bool | AnchorcredError] = {}

    def parsed(self) -> StatusList:
        """The list's content (``StatusListError`` if malformed, raised again on every call)."""
        if self._parsed is None:
            try:
                self._parsed = parse_status_list(self.document)
            except StatusListError as exc:
                self._parsed = exc
        if isinstance(self._parsed, StatusListError):
            raise self._parsed
        return self._parsed

    def digest(self, canon: Any) -> bytes:
        """SHA-256 of the canonical form with its proof: what ``publishStatus`` anchors."""
        if self._digest is None:
            self._digest = status_list_digest(self.document, canon)
        return self._digest

    def signed_by(self, proof: dict[str, Any], public_key: bytes, canon: Any) -> bool:
        """True if ``proof`` (the list's) is a valid eddsa-rdfc-2022 signature by ``public_key``."""
        key = (bytes(public_key), str(proof.get("proofValue")))
        found = self._signatures.get(key)
        if found is None:
            try:
                found = verify_eddsa_proof(self.document, proof, public_key, canon)
            except AnchorcredError as exc:
                found = exc
            self._signatures[key] = found
        if isinstance(found, AnchorcredError):
            raise found
        return found


@dataclass(frozen=True)
class ListEvidence:
    """Everything gathered for one status list URL named by the credential, or why it could not be had."""

    url: str
    document: ListDocument | None = None
    error: str | None = None  # why the list could not be had
    chain_id: int | None = None  # the chain whose registry was read (the credential's anchor chain)
    publishers: tuple[str, ...] = ()  # the issuer's anchoring addresses on that chain
    records: tuple[tuple[str, StatusRecord], ...] = ()  # publisher -> statusOf, for those that published the list
    history: tuple[tuple[str, StatusPublication], ...] = ()  # read only when the list served is not a latest one
    ledger_error: str | None = None  # the registry could not be read


class StatusListSource:
    """Where status list credentials come from: snapshots first (files, a bundle), then the fetcher if one is given.

    Fetched lists are cached per URL for ``ttl`` seconds, failures for ``failure_ttl`` (a thousand credentials of an
    issuer whose site is down cost one timeout); concurrent gets of one URL wait for a single fetch. No fetcher: a
    list without a snapshot is unavailable (the CLI never fetches).
    """

    def __init__(self, *, fetcher: JsonFetcher | None = None, snapshots: Mapping[str, tuple[Any, str]] | None = None,
                 ttl: float = 60.0, failure_ttl: float = 10.0, max_entries: int = 256,
                 clock: Callable[[], float] = time.monotonic):
        if ttl <= 0 or failure_ttl < 0 or max_entries < 1:
            raise ValueError(f"ttl must be > 0, failure_ttl >= 0, max_entries >= 1; got {ttl}, {failure_ttl}, "
                             f"{max_entries}")
        self._fetcher = fetcher
        self._snapshots = {url: ListDocument(url, doc, source) for url, (doc, source) in (snapshots or {}).items()}
        self._ttl, self._failure_ttl, self._max = ttl, failure_ttl, max_entries
        self._clock = clock
        self._cache: OrderedDict[str, tuple[float, ListDocument | StatusListUnavailableError]] = OrderedDict()
        self._lock = threading.Lock()
        self._fetching: dict[str, threading.Lock] = {}
        self.fetches = 0

    @property
    def fetches_lists(self) -> bool:
        return self._fetcher is not None

    def add_snapshot(self, document: Any, source: str) -> str:
        """Adds a list credential given by the user; returns its URL (its ``id``)."""
        url = document.get("id") if isinstance(document, dict) else None
        if not isinstance(url, str) or not url:
            raise StatusListError(f"{source}: a status list credential needs its URL as 'id'")
        self._snapshots[url] = ListDocument(url, document, source)
        return url

    def peek(self, url: str) -> tuple[bool, ListDocument | None]:
        """(answer without I/O?, the document): a snapshot or a fresh cache entry answers at once."""
        if url in self._snapshots:
            return True, self._snapshots[url]
        if self._fetcher is None:
            return True, None
        hit = self._cached(url)
        if hit is None:
            return False, None
        return True, hit if isinstance(hit, ListDocument) else None

    def get(self, url: str) -> ListDocument:
        """The list at ``url``; ``StatusListUnavailableError`` says why there is none."""
        if url in self._snapshots:
            return self._snapshots[url]
        if self._fetcher is None:
            raise StatusListUnavailableError(
                f"status list {url} was not given (no snapshot, and this verifier does not fetch status lists)")
        hit = self._cached(url)
        if hit is None:
            with self._lock:
                one = self._fetching.setdefault(url, threading.Lock())
            with one:
                hit = self._cached(url)
                if hit is None:
                    hit = self._fetch(url)
                    with self._lock:
                        ttl = self._ttl if isinstance(hit, ListDocument) else self._failure_ttl
                        self._cache[url] = (self._clock() + ttl, hit)
                        self._cache.move_to_end(url)
                        while len(self._cache) > self._max:
                            self._cache.popitem(last=False)
                        self._fetching.pop(url, None)
        if isinstance(hit, StatusListUnavailableError):
            raise hit
        return hit

    def _cached(self, url: str) -> ListDocument | StatusListUnavailableError | None:
        with self._lock:
            entry = self._cache.get(url)
            if entry is None:
                return None
            if self._clock() >= entry[0]:
                del self._cache[url]
                return None
            self._cache.move_to_end(url)
            return entry[1]

    def _fetch(self, url: str) -> ListDocument | StatusListUnavailableError:
        self.fetches += 1
        try:
            final, document = self._fetcher.fetch_json(url)  # type: ignore[union-attr]
        except AnchorcredError as exc:  # refused (policy) or unavailable (network): either way, no list
            return StatusListUnavailableError(f"status list {url} could not be fetched: {exc.diagnostics()}")
        return ListDocument(url, document, f"fetched from {final}")


def gather_status(document: Any, *, source: StatusListSource | None, ledger: Any, chain_id: int | None,
                  publishers: list[str], canon: Any, snapshots: Mapping[str, Any] | None = None,
                  local_only: bool = False) -> tuple[ListEvidence, ...] | None:
    """The evidence for each status list the credential names with a judged purpose (revocation, suspension).

    ``publishers``: the issuer's anchoring addresses bound to ``chain_id`` (from its DID document). ``snapshots``:
    list credentials carried with this credential, by URL. With ``local_only``: None when anything needs I/O.
    A malformed ``credentialStatus`` gathers nothing: the check reports it.
    """
    try:
        entries = status_entries(document)
    except StatusListError:
        return ()
    urls = list(dict.fromkeys(e.list_url for e in entries if e.purpose in JUDGED_PURPOSES))
    out: list[ListEvidence] = []
    for url in urls:
        doc, error = _list_document(url, source, snapshots, local_only)
        if doc is None and error is None:
            return None  # local_only and the list is not at hand
        if chain_id is None:
            out.append(ListEvidence(url, doc, error, ledger_error="the credential names no ledger (no anchor) on "
                                                                   "which the list's digest could be read"))
            continue
        if not publishers:
            out.append(ListEvidence(url, doc, error, chain_id, ledger_error=(
                f"the issuer's DID document binds no anchoring address on chain {chain_id}: nobody's list digest to "
                "check against")))
            continue
        if ledger is None or not callable(getattr(ledger, "status_of", None)):
            out.append(ListEvidence(url, doc, error, chain_id, tuple(publishers),
                                    ledger_error="no ledger configured: the list's anchored digest cannot be read"))
            continue
        try:
            records = _records(ledger, chain_id, publishers, url, local_only)
            if records is None:
                return None
            history: tuple[tuple[str, StatusPublication], ...] = ()
            if doc is not None and records:
                served = _digest_or_none(doc, canon)
                if served is not None and served not in {r.digest for _p, r in records}:
                    if local_only:
                        return None  # the history is read from logs, never cached
                    history = tuple((p, pub) for p in publishers
                                    for pub in ledger.status_history(chain_id, None, p, list_id_of(url)))
            out.append(ListEvidence(url, doc, error, chain_id, tuple(publishers), records, history))
        except EvidenceUnavailableError as exc:
            out.append(ListEvidence(url, doc, error, chain_id, tuple(publishers), ledger_error=exc.diagnostics()))
        except AnchorcredError as exc:  # an unconfigured chain, a registry that is not there
            out.append(ListEvidence(url, doc, error, chain_id, tuple(publishers), ledger_error=exc.diagnostics()))
    return tuple(out)


def _list_document(url: str, source: StatusListSource | None, snapshots: Mapping[str, Any] | None,
                   local_only: bool) -> tuple[ListDocument | None, str | None]:
    if snapshots and url in snapshots:
        return ListDocument(url, snapshots[url], "carried with the credential"), None
    if source is None:
        return None, f"status list {url} was not given and this verifier does not fetch status lists"
    if local_only:
        ready, doc = source.peek(url)
        if not ready:
            return None, None
        if doc is not None:
            return doc, None
    try:
        return source.get(url), None
    except EvidenceUnavailableError as exc:
        return None, exc.diagnostics()


def _records(ledger: Any, chain_id: int, publishers: list[str], url: str,
             local_only: bool) -> tuple[tuple[str, StatusRecord], ...] | None:
    list_id = list_id_of(url)
    found: list[tuple[str, StatusRecord]] = []
    for publisher in publishers:
        if local_only:
            peek = getattr(ledger, "peek_status", None)
            hit, record = peek(chain_id, None, publisher, list_id) if peek is not None else (False, None)
            if not hit:
                return None
        else:
            record = ledger.status_of(chain_id, None, publisher, list_id)
        if record is not None:
            found.append((publisher, record))
    return tuple(found)


def _digest_or_none(doc: ListDocument, canon: Any) -> bytes | None:
    try:
        return doc.digest(canon)
    except AnchorcredError:
        return None  # not canonicalizable: the check says so
