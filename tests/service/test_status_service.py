"""Status lists through the verifier service: fetched through the guarded fetcher and its policy (only when status
fetching is on), cached per list, judged against the registry; the app's settings wire the source. No network: the
fetcher gets a mock transport and a fixed resolver; the ledger is the embedded chain."""

from __future__ import annotations

import json
import warnings

import httpx
import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from tests.statuskit import REVOCATION_URL, status_batch
from tests.tools import Site
from verifier.did import DidResolver
from verifier.fetch import GuardedFetcher
from verifier.ledger.evm import CachingReader, LedgerRouter
from verifier.service.app import create_app
from verifier.service.settings import VerifierSettings
from verifier.statuslists import StatusListSource
from verifier.verify import Verifier

PUBLIC = "93.184.216.34"


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    b = status_batch(tmp_path_factory.mktemp("status-service") / "out", count=2)
    b.publish_both()
    return b


def _verifier(batch, fetcher) -> Verifier:
    resolver = DidResolver()
    resolver.add(batch.did_document, "file did.json")
    return Verifier(ledger=CachingReader(LedgerRouter({batch.chain.chain_id: batch.chain.reader()})),
                    did_resolver=resolver, status_source=StatusListSource(fetcher=fetcher))


def _site(batch) -> Site:
    return Site({url.removeprefix("https://www.tu-example.de"): json.dumps(doc).encode()
                 for url, doc in batch.site.lists.items()}, content_type="application/vc+ld+json")


def _status(body: dict) -> dict:
    return next(c for c in body["checks"] if c["id"] == "status")


def test_lists_are_fetched_once_through_the_guarded_fetcher_and_judged(batch):
    site = _site(batch)
    settings = VerifierSettings()
    fetcher = GuardedFetcher(settings.fetch_policy(), transport=httpx.MockTransport(site),
                             resolver={"www.tu-example.de": [PUBLIC]})
    with TestClient(create_app(settings, verifier=_verifier(batch, fetcher), fetcher=fetcher)) as client:
        bodies = [client.post("/credentials/verify", json={"verifiableCredential": batch.credential(i % 2)}).json()
                  for i in range(4)]
    for body in bodies:
        status = _status(body)
        assert status["status"] == "pass", status
        assert "revocation: bit clear in list v1 anchored at" in status["reason"]
        assert body["verified"] is True
    assert sorted(site.hits) == sorted(batch.site.lists)  # each list fetched once, then cached


def test_a_list_refused_by_the_fetch_policy_is_indeterminate(batch):
    site = _site(batch)
    settings = VerifierSettings()
    fetcher = GuardedFetcher(settings.fetch_policy(), transport=httpx.MockTransport(site),
                             resolver={"www.tu-example.de": ["10.0.0.7"]})
    with TestClient(create_app(settings, verifier=_verifier(batch, fetcher), fetcher=fetcher)) as client:
        body = client.post("/credentials/verify", json={"verifiableCredential": batch.credential(0)}).json()
    status = _status(body)
    assert status["status"] == "indeterminate" and "private address" in status["reason"]
    assert f"status list {REVOCATION_URL} could not be fetched" in status["reason"]
    assert body["verdict"] == "partially_verified" and site.hits == []


@pytest.mark.parametrize("did_web_fetch, status_fetch, fetches", [
    (False, None, False), (True, None, True), (False, True, True), (True, False, False),
])
def test_settings_wire_status_fetching(did_web_fetch, status_fetch, fetches):
    settings = VerifierSettings(did_web_fetch=did_web_fetch, status_fetch=status_fetch, status_cache_ttl=30)
    with TestClient(create_app(settings)) as client:
        source = client.app.state.verifier._status
        assert isinstance(source, StatusListSource)
        assert source.fetches_lists is fetches
