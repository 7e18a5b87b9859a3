"""did:web through the service: fetched only when VERIFIER_DID_WEB_FETCH is set, through the guarded fetcher and its
policy; an issuer service's share link in development (http://localhost:8081, issuer did:web:localhost%3A8081:…)
verifies on the page. No network: the fetcher gets a mock transport and a fixed resolver."""

from __future__ import annotations

import json
import warnings

import httpx
import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from tests.batchkit import embedded_batch
from tests.tools import Site
from verifier.didweb import WebDidResolver
from verifier.fetch import GuardedFetcher
from verifier.ledger.evm import CachingReader, LedgerRouter
from verifier.service.app import create_app
from verifier.service.settings import VerifierSettings
from verifier.verify import Verifier

PUBLIC = "93.184.216.34"
DEV_DID = "did:web:localhost%3A8081:tenants:demo"


def checks_of(body: dict) -> dict[str, dict]:
    return {c["id"]: c for c in body["checks"]}


@pytest.mark.parametrize("enabled", [True, False])
def test_the_issuer_did_web_is_fetched_only_when_enabled(embedded, enabled):
    _, batch = embedded  # issuer did:web:www.tu-example.de, no DID document configured
    site = Site({"/.well-known/did.json": batch.result.did_document.read_bytes()})
    settings = VerifierSettings(did_web_fetch=enabled)
    fetcher = GuardedFetcher(settings.fetch_policy(), transport=httpx.MockTransport(site),
                             resolver={"www.tu-example.de": [PUBLIC]})
    with TestClient(create_app(settings, fetcher=fetcher)) as client:
        assert client.get("/health").json()["did_web_fetch"] is enabled
        bodies = [client.post("/credentials/verify", json={"verifiableCredential": batch.credential(i)}).json()
                  for i in range(3)]
    signature = checks_of(bodies[0])["signature"]
    if enabled:
        assert signature["status"] == "pass"
        assert "fetched from https://www.tu-example.de/.well-known/did.json" in signature["reason"]
        assert bodies[0]["report"]["issuer"]["did_document"] == "fetched from https://www.tu-example.de/.well-known/did.json"
        assert site.hits == ["https://www.tu-example.de/.well-known/did.json"]  # cached per DID
        assert all(checks_of(b)["signature"]["status"] == "pass" for b in bodies)
    else:
        assert signature["status"] == "indeterminate" and "not enabled" in signature["reason"]
        assert site.hits == []
    assert bodies[0]["verified"] is False  # no ledger configured here: the anchor stays grey either way


def test_a_fetch_refused_by_the_policy_is_indeterminate_with_the_reason(embedded):
    _, batch = embedded
    site = Site({"/.well-known/did.json": batch.result.did_document.read_bytes()})
    settings = VerifierSettings(did_web_fetch=True)
    fetcher = GuardedFetcher(settings.fetch_policy(), transport=httpx.MockTransport(site),
                             resolver={"www.tu-example.de": ["10.0.0.7"]})
    with TestClient(create_app(settings, fetcher=fetcher)) as client:
        body = client.post("/credentials/verify", json={"verifiableCredential": batch.credential(0)}).json()
    signature = checks_of(body)["signature"]
    assert signature["status"] == "indeterminate" and "private address" in signature["reason"]
    assert site.hits == []


@pytest.fixture(scope="module")
def dev_issuer(tmp_path_factory):
    """A batch whose issuer is a tenant of the issuer service in development."""
    return embedded_batch(tmp_path_factory.mktemp("dev") / "out", did=DEV_DID)[1]


def test_an_issuer_service_share_link_in_development_verifies_on_the_page(dev_issuer):
    batch = dev_issuer
    cred = batch.credential(0)
    link = "http://localhost:8081/tenants/demo/credentials/c0"
    site = Site({"/tenants/demo/did.json": batch.result.did_document.read_bytes(),
                 "/tenants/demo/credentials/c0": json.dumps(cred).encode()})
    settings = VerifierSettings(did_web_fetch=True, fetch_allow_http_hosts=["localhost"],
                                fetch_allow_hosts=["localhost"])
    fetcher = GuardedFetcher(settings.fetch_policy(), transport=httpx.MockTransport(site),
                             resolver={"localhost": ["127.0.0.1"]})
    # The ledger is the embedded chain (no RPC to configure); the DID resolver is the one the service wires in.
    verifier = Verifier(ledger=CachingReader(LedgerRouter({batch.chain_id: batch.reader})),
                        did_resolver=WebDidResolver(fetcher, ttl=settings.did_web_cache_ttl))
    with TestClient(create_app(settings, verifier=verifier, fetcher=fetcher)) as client:
        r = client.get("/verify/link", params={"url": link})
    assert r.status_code == 200, r.text
    assert "Verdict: Verified" in r.text
    assert "fetched from http://localhost:8081/tenants/demo/did.json" in r.text
    assert site.hits == [link, "http://localhost:8081/tenants/demo/did.json"]
