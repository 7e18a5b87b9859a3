"""verifier.didweb: did:web → URL (did:web §3.2), and the fetching resolver over the guarded fetcher.

No network: the fetcher gets a mock transport and a fixed resolver.
"""

from __future__ import annotations

import json
import threading

import httpx
import pytest

from verifier import keys
from verifier.did import DidResolver
from verifier.didweb import WebDidResolver, did_web_url
from verifier.errors import DidResolutionError
from verifier.fetch import FetchPolicy, GuardedFetcher

PUBLIC = "93.184.216.34"
MULTIKEY = keys.did_key_from_ed25519(bytes(range(32))).removeprefix("did:key:")


def did_doc(did: str) -> dict:
    return {"id": did, "verificationMethod": [{"id": f"{did}#k", "type": "Multikey", "controller": did,
                                               "publicKeyMultibase": MULTIKEY}], "assertionMethod": ["#k"]}


@pytest.mark.parametrize("did, url", [
    ("did:web:example.com", "https://example.com/.well-known/did.json"),
    ("did:web:Example.COM", "https://example.com/.well-known/did.json"),
    ("did:web:example.com:u:alice", "https://example.com/u/alice/did.json"),
    ("did:web:example.com%3A8443", "https://example.com:8443/.well-known/did.json"),
    ("did:web:localhost%3a8081:tenants:demo", "https://localhost:8081/tenants/demo/did.json"),
    ("did:web:example.com:a%20b", "https://example.com/a%20b/did.json"),
])
def test_did_web_to_url(did, url):
    assert did_web_url(did) == url


def test_http_only_for_hosts_the_configuration_lists():
    did = "did:web:localhost%3A8081:tenants:demo"
    assert did_web_url(did, http_hosts={"localhost"}) == "http://localhost:8081/tenants/demo/did.json"
    assert did_web_url("did:web:example.com", http_hosts={"localhost"}).startswith("https://")


@pytest.mark.parametrize("did, words", [
    ("did:key:z6Mk", "not a did:web"),
    ("did:web:", "not a domain name"),
    ("did:web:127.0.0.1", "not an IP address"),
    ("did:web:exa_mple.com", "not a domain name"),
    ("did:web:example.com%3A99999", "not in 1..65535"),
    ("did:web:example.com%3A", "not a domain name"),
    ("did:web:example.com:..", "path segment '..'"),
    ("did:web:example.com::x", "path segment ''"),
    ("did:web:example.com:a/b", "path segment 'a/b'"),
    ("did:web:user@example.com", "not a domain name"),
])
def test_malformed_did_web_is_refused(did, words):
    with pytest.raises(ValueError, match=None) as info:
        did_web_url(did)
    assert words in str(info.value)


class Site:
    """A mock web server: path -> (status, content type, body); counts the requests."""

    def __init__(self, routes: dict[str, tuple[int, str, bytes]]):
        self.routes, self.hits = routes, []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.hits.append((request.headers["host"], request.url.scheme, request.url.path))
        status, ctype, body = self.routes.get(request.url.path, (404, "application/json", b"{}"))
        return httpx.Response(status, headers={"content-type": ctype}, content=body)


def fetcher_for(site: Site, policy: FetchPolicy | None = None, resolver=None) -> GuardedFetcher:
    return GuardedFetcher(policy or FetchPolicy(), transport=httpx.MockTransport(site),
                          resolver=resolver or {"issuer.example": [PUBLIC], "localhost": ["127.0.0.1"]})


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_did_web_is_fetched_once_and_reported_by_url():
    did = "did:web:issuer.example:tenants:demo"
    site = Site({"/tenants/demo/did.json": (200, "application/did+json", json.dumps(did_doc(did)).encode())})
    resolver = WebDidResolver(fetcher_for(site))
    first = resolver.resolve(did)
    assert first.document["id"] == did
    assert first.source == "fetched from https://issuer.example/tenants/demo/did.json"
    assert resolver.resolve(did) is first
    assert site.hits == [("issuer.example", "https", "/tenants/demo/did.json")]


def test_the_cache_expires_after_its_ttl():
    did = "did:web:issuer.example"
    site = Site({"/.well-known/did.json": (200, "application/json", json.dumps(did_doc(did)).encode())})
    clock = Clock()
    resolver = WebDidResolver(fetcher_for(site), ttl=60, clock=clock)
    resolver.resolve(did)
    clock.now += 59
    resolver.resolve(did)
    assert len(site.hits) == 1
    clock.now += 2
    resolver.resolve(did)
    assert len(site.hits) == 2


def test_a_failure_is_cached_briefly_then_retried():
    did = "did:web:issuer.example"
    site = Site({})
    clock = Clock()
    resolver = WebDidResolver(fetcher_for(site), failure_ttl=10, clock=clock)
    for _ in range(3):
        with pytest.raises(DidResolutionError, match="answered HTTP 404"):
            resolver.resolve(did)
    assert len(site.hits) == 1
    clock.now += 11
    with pytest.raises(DidResolutionError):
        resolver.resolve(did)
    assert len(site.hits) == 2


def test_a_document_for_another_did_is_refused():
    did = "did:web:issuer.example"
    site = Site({"/.well-known/did.json": (200, "application/json",
                                           json.dumps(did_doc("did:web:attacker.example")).encode())})
    with pytest.raises(DidResolutionError) as info:
        WebDidResolver(fetcher_for(site)).resolve(did)
    assert "is for 'did:web:attacker.example', not for this DID" in info.value.diagnostics()


@pytest.mark.parametrize("body, words", [(b"[1]", "JSON list, not a DID document"), (b"{oops", "not valid JSON")])
def test_a_document_that_is_not_one_is_refused(body, words):
    site = Site({"/.well-known/did.json": (200, "application/json", body)})
    with pytest.raises(DidResolutionError, match=None) as info:
        WebDidResolver(fetcher_for(site)).resolve("did:web:issuer.example")
    assert words in str(info.value)


def test_configured_documents_win_and_nothing_is_fetched():
    did = "did:web:issuer.example"
    site = Site({})
    resolver = WebDidResolver(fetcher_for(site))
    resolver.add(did_doc(did), "file did.json")
    assert resolver.resolve(did).source == "file did.json"
    assert resolver.resolve(keys.did_key_from_ed25519(bytes(32))).source == "derived from did:key"
    assert site.hits == []


def test_the_fetch_policy_decides_the_hosts():
    """A loopback issuer (the issuer service in development) is refused unless the policy allows it, and is asked
    over http only when the policy lists it for http."""
    did = "did:web:localhost%3A8081:tenants:demo"
    site = Site({"/tenants/demo/did.json": (200, "application/json", json.dumps(did_doc(did)).encode())})
    with pytest.raises(DidResolutionError, match="loopback"):
        WebDidResolver(fetcher_for(site)).resolve(did)
    dev = FetchPolicy(allow_http_hosts=frozenset({"localhost"}), allow_hosts=frozenset({"localhost"}))
    resolved = WebDidResolver(fetcher_for(site, dev)).resolve(did)
    assert resolved.source == "fetched from http://localhost:8081/tenants/demo/did.json"
    assert site.hits == [("localhost:8081", "http", "/tenants/demo/did.json")]


def test_a_malformed_did_web_is_a_resolution_error_without_a_fetch():
    site = Site({})
    with pytest.raises(DidResolutionError, match="not an IP address"):
        WebDidResolver(fetcher_for(site)).resolve("did:web:10.0.0.1")
    assert site.hits == []


def test_the_plain_resolver_still_never_fetches():
    with pytest.raises(DidResolutionError, match="fetching did:web is not enabled"):
        DidResolver().resolve("did:web:issuer.example")


def test_concurrent_resolutions_of_one_did_fetch_once():
    did = "did:web:issuer.example"
    gate = threading.Event()
    body = json.dumps(did_doc(did)).encode()
    hits = []

    def slow(request: httpx.Request) -> httpx.Response:
        hits.append(request.url.path)
        gate.wait(5)
        return httpx.Response(200, headers={"content-type": "application/json"}, content=body)

    resolver = WebDidResolver(GuardedFetcher(FetchPolicy(), transport=httpx.MockTransport(slow),
                                             resolver={"issuer.example": [PUBLIC]}))
    results = []
    threads = [threading.Thread(target=lambda: results.append(resolver.resolve(did).source)) for _ in range(8)]
    for t in threads:
        t.start()
    gate.set()
    for t in threads:
        t.join(10)
    assert len(results) == 8 and len(hits) == 1


def test_the_cache_is_bounded():
    site = Site({"/.well-known/did.json": (200, "application/json", b"{}")})
    resolver = WebDidResolver(fetcher_for(site, resolver=lambda host, port: [PUBLIC]), max_entries=2)
    for name in ("a.example", "b.example", "c.example"):
        with pytest.raises(DidResolutionError):
            resolver.resolve(f"did:web:{name}")
    assert len(resolver._cache) == 2


def test_limits_are_checked():
    with pytest.raises(ValueError):
        WebDidResolver(fetcher_for(Site({})), ttl=0)


def test_resolve_local_answers_from_the_cache_only():
    """What the service asks before judging a credential on its event loop: never a fetch."""
    did = "did:web:issuer.example"
    site = Site({"/.well-known/did.json": (200, "application/json", json.dumps(did_doc(did)).encode())})
    resolver = WebDidResolver(fetcher_for(site))
    assert resolver.resolve_local(did) is None and site.hits == []
    fetched = resolver.resolve(did)
    assert resolver.resolve_local(did) is fetched and len(site.hits) == 1
    assert resolver.resolve_local(keys.did_key_from_ed25519(bytes(32))).source == "derived from did:key"
    failing = WebDidResolver(fetcher_for(Site({})))
    with pytest.raises(DidResolutionError):
        failing.resolve("did:web:issuer.example")
    with pytest.raises(DidResolutionError):  # a cached failure is local knowledge too
        failing.resolve_local("did:web:issuer.example")
