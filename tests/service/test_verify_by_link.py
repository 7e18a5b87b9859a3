"""Verify-by-link on the page: share links open the report; refused and unreachable links are said plainly.

No real network: the guarded fetcher gets a fake resolver and an httpx.MockTransport.
"""

from __future__ import annotations

import json
import warnings

import httpx
import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from verifier.fetch import FetchPolicy, GuardedFetcher
from verifier.service.app import create_app
from verifier.service.settings import VerifierSettings

PUBLIC = "93.184.216.34"  # a public address, served by the mock transport below, never contacted


@pytest.fixture
def site(embedded):
    _, batch = embedded
    good = json.dumps(batch.credential(0)).encode()
    tampered_doc = batch.credential(1)
    tampered_doc["credentialSubject"]["result"][0]["value"] += " (edited)"
    routes = {
        "/c/good": (200, {"content-type": "application/json"}, good),
        "/c/tampered": (200, {"content-type": "application/ld+json"}, json.dumps(tampered_doc).encode()),
        "/c/page": (200, {"content-type": "text/html"}, b"<html></html>"),
        "/c/moved": (302, {"location": "https://intranet.example/secret"}, b""),
        "/c/gone": (404, {"content-type": "application/json"}, b"{}"),
    }

    def handler(request: httpx.Request) -> httpx.Response:
        status, headers, body = routes.get(request.url.path, (404, {}, b""))
        return httpx.Response(status, headers=headers, content=body)

    resolver = {"registrar.tu-example.de": [PUBLIC], "intranet.example": ["10.1.2.3"]}
    fetcher = GuardedFetcher(FetchPolicy(), transport=httpx.MockTransport(handler), resolver=resolver)
    app = create_app(VerifierSettings(), verifier=batch.verifier(), fetcher=fetcher)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_a_share_link_opens_the_report(site):
    r = site.get("/verify/link", params={"url": "https://registrar.tu-example.de/c/good"})
    assert r.status_code == 200
    assert "Verified" in r.text and "https://registrar.tu-example.de/c/good" in r.text


def test_a_link_to_a_tampered_credential_shows_the_failed_check(site):
    r = site.get("/verify/link", params={"url": "https://registrar.tu-example.de/c/tampered"})
    assert r.status_code == 200
    assert "Failed" in r.text and "signature does not verify" in r.text


@pytest.mark.parametrize(
    "url, status, words",
    [
        ("http://registrar.tu-example.de/c/good", 400, "http is not allowed"),
        ("https://10.0.0.5/c/good", 400, "private address"),
        ("https://127.0.0.1/c/good", 400, "loopback"),
        ("https://registrar.tu-example.de/c/page", 400, "text/html"),
        ("https://registrar.tu-example.de/c/moved", 400, "private address"),
        ("https://registrar.tu-example.de/c/gone", 502, "could not be fetched"),
    ],
)
def test_refused_and_unreachable_links_are_explained_on_the_page(site, url, status, words):
    r = site.get("/verify/link", params={"url": url})
    assert r.status_code == status
    assert words in r.text
    assert 'role="alert"' in r.text  # the message is announced, and the form is shown again with the link
    assert "Traceback" not in r.text


def test_the_page_offers_the_link_form(site):
    r = site.get("/")
    assert 'id="url"' in r.text and 'for="url"' in r.text and "/verify/link" in r.text
