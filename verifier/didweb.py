"""did:web resolution over the network, for the verifier service only (the CLI never fetches a DID).

``WebDidResolver`` is a ``DidResolver`` that, for a did:web it holds no configured document for, fetches the DID
document through the guarded fetcher (verifier.fetch: https, http only for hosts the fetch policy lists in
``allow_http_hosts``, address checks unless the host is in ``allow_hosts``, size, time and redirect limits). Configured
documents keep priority; did:key is derived locally as before. ``verifier/did.py`` stays free of network code.

did:web Method Specification §3.2 (Read): ``did:web:example.com`` → ``https://example.com/.well-known/did.json``;
``did:web:example.com:u:alice`` → ``https://example.com/u/alice/did.json``; a port is written ``%3A``
(``did:web:localhost%3A8081:tenants:demo`` → ``…://localhost:8081/tenants/demo/did.json``). The document's ``id``
must be the DID. The key source in a report names the URL the document came from.

Documents are cached per DID for ``ttl`` seconds (a bulk run of one issuer's batch fetches once); a failure is cached
for ``failure_ttl`` seconds, so a thousand credentials of an issuer whose site is down cost one timeout, not a thousand.
Concurrent resolutions of one DID wait for a single fetch.
"""

from __future__ import annotations

import ipaddress
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from verifier.did import DidResolver, ResolvedDid
from verifier.errors import DidResolutionError, EvidenceUnavailableError, InvalidInputError

# A host name (did:web names a domain; the spec forbids IP addresses), then an optional percent-encoded port.
_HOST = re.compile(r"(?P<host>[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}"
                   r"[A-Za-z0-9])?)*)(?:%3[Aa](?P<port>[0-9]{1,5}))?")
# A path segment: unreserved characters and percent-encoded octets (RFC 3986 §2), kept encoded in the URL.
_SEGMENT = re.compile(r"(?:[A-Za-z0-9._~-]|%[0-9A-Fa-f]{2})+")
MAX_DID_LENGTH = 2048


class JsonFetcher(Protocol):
    """What the resolver needs of ``verifier.fetch.GuardedFetcher``."""

    def fetch_json(self, url: str) -> tuple[str, Any]: ...


def did_web_url(did: str, *, http_hosts: frozenset[str] | set[str] = frozenset()) -> str:
    """The URL of a did:web's document (did:web §3.2). ``http_hosts``: hosts the configuration lets speak http
    (development: localhost); every other host is https, as the method requires. Malformed: ``ValueError``."""
    if not did.startswith("did:web:"):
        raise ValueError(f"not a did:web: {did!r:.80}")
    if len(did) > MAX_DID_LENGTH:
        raise ValueError(f"a did:web of {len(did)} characters is longer than the {MAX_DID_LENGTH} allowed")
    host_part, *path = did[len("did:web:"):].split(":")
    m = _HOST.fullmatch(host_part)
    if m is None:
        raise ValueError(f"{did}: {host_part!r:.80} is not a domain name with an optional %3A port")
    host = m.group("host").lower()
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        raise ValueError(f"{did}: did:web names a domain, not an IP address ({host})")
    port = m.group("port")
    if port is not None and not 0 < int(port) < 65536:
        raise ValueError(f"{did}: port {port} is not in 1..65535")
    for segment in path:
        if not _SEGMENT.fullmatch(segment) or segment in (".", ".."):
            raise ValueError(f"{did}: path segment {segment!r:.80} is not allowed")
    scheme = "http" if host in http_hosts else "https"
    where = f"{host}:{port}" if port is not None else host
    tail = "/".join(path) + "/did.json" if path else ".well-known/did.json"
    return f"{scheme}://{where}/{tail}"


class WebDidResolver(DidResolver):
    def __init__(self, fetcher: JsonFetcher, *, documents: Mapping[str, tuple[Mapping[str, Any], str]] | None = None,
                 ttl: float = 300.0, failure_ttl: float = 10.0, max_entries: int = 1024,
                 http_hosts: frozenset[str] | None = None, clock: Callable[[], float] = time.monotonic):
        super().__init__(documents)
        if ttl <= 0 or failure_ttl < 0 or max_entries < 1:
            raise ValueError(f"ttl must be > 0, failure_ttl >= 0, max_entries >= 1; got {ttl}, {failure_ttl}, "
                             f"{max_entries}")
        self._fetcher = fetcher
        self._ttl, self._failure_ttl, self._max_entries = ttl, failure_ttl, max_entries
        policy = getattr(fetcher, "policy", None)
        self._http_hosts = http_hosts if http_hosts is not None else getattr(policy, "allow_http_hosts", frozenset())
        self._clock = clock
        # did -> (expires at, the document or the error); least recently used first
        self._cache: OrderedDict[str, tuple[float, ResolvedDid | DidResolutionError]] = OrderedDict()
        self._lock = threading.Lock()
        self._fetching: dict[str, threading.Lock] = {}

    def resolve(self, did: str) -> ResolvedDid:
        if not did.startswith("did:web:") or self.known(did):
            return super().resolve(did)
        cached = self._cached(did)
        if cached is None:
            with self._lock:
                single = self._fetching.setdefault(did, threading.Lock())
            with single:  # one fetch per DID at a time; the others find its result in the cache
                cached = self._cached(did)
                if cached is None:
                    cached = self._fetch(did)
                    self._store(did, cached)
            with self._lock:
                self._fetching.pop(did, None)
        if isinstance(cached, DidResolutionError):
            raise cached
        return cached

    def resolve_local(self, did: str) -> ResolvedDid | None:
        if not did.startswith("did:web:") or self.known(did):
            return super().resolve(did)
        cached = self._cached(did)
        if isinstance(cached, DidResolutionError):
            raise cached
        return cached

    def _cached(self, did: str) -> ResolvedDid | DidResolutionError | None:
        with self._lock:
            entry = self._cache.get(did)
            if entry is None:
                return None
            if entry[0] <= self._clock():
                del self._cache[did]
                return None
            self._cache.move_to_end(did)
            return entry[1]

    def _store(self, did: str, value: ResolvedDid | DidResolutionError) -> None:
        ttl = self._failure_ttl if isinstance(value, DidResolutionError) else self._ttl
        if ttl <= 0:
            return
        with self._lock:
            self._cache[did] = (self._clock() + ttl, value)
            self._cache.move_to_end(did)
            while len(self._cache) > self._max_entries:
                self._cache.popitem(last=False)

    def _fetch(self, did: str) -> ResolvedDid | DidResolutionError:
        """The resolved document, or the error to raise (returned, so that it can be cached)."""
        try:
            url = did_web_url(did, http_hosts=self._http_hosts)
        except ValueError as exc:
            return DidResolutionError(f"{did}: not a valid did:web ({exc})")
        try:
            final_url, document = self._fetcher.fetch_json(url)
        except (InvalidInputError, EvidenceUnavailableError) as exc:
            reason = getattr(exc, "reason", None) or exc.diagnostics()
            return DidResolutionError(f"{did}: its DID document could not be had from {url}: {reason}")
        if not isinstance(document, dict):
            return DidResolutionError(f"{did}: {final_url} holds a JSON {type(document).__name__}, not a DID document")
        if document.get("id") != did:
            return DidResolutionError(f"{did}: the document at {final_url} is for {document.get('id')!r:.120}, "
                                      "not for this DID (did:web §3.2: its id must be the DID)")
        source = f"fetched from {final_url}" + (f" (redirected from {url})" if final_url != url else "")
        return ResolvedDid(did, document, source)
