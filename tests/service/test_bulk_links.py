"""Bulk verify-by-link: a CSV of credential links on the page, each fetched through the guarded fetcher and verified;
the CSV of verdicts covers them; every bad row is a result with its reason. No network (mock transport)."""

from __future__ import annotations

import csv
import io
import json
import threading
import warnings

import httpx
import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from verifier.fetch import FetchPolicy, GuardedFetcher
from verifier.service.app import create_app
from verifier.service.intake import PendingLink, Unreadable, parse_link_csv
from verifier.service.links import fetch_links
from verifier.service.settings import VerifierSettings

PUBLIC = "93.184.216.34"
BASE = "https://registrar.tu-example.de"


class Site:
    def __init__(self, routes: dict[str, tuple[int, str, bytes]]):
        self.routes, self.hits = routes, []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.hits.append(request.url.path)
        status, ctype, body = self.routes.get(request.url.path, (404, "application/json", b"{}"))
        return httpx.Response(status, headers={"content-type": ctype}, content=body)


@pytest.fixture
def site(embedded):
    _, batch = embedded
    tampered = batch.credential(1)
    tampered["credentialSubject"]["result"][0]["value"] += " (edited)"
    return Site({
        "/c/0": (200, "application/json", json.dumps(batch.credential(0)).encode()),
        "/c/2": (200, "application/vc+json", json.dumps(batch.credential(2)).encode()),
        "/c/tampered": (200, "application/json", json.dumps(tampered).encode()),
        "/c/pair": (200, "application/json", json.dumps([batch.credential(3), batch.credential(4)]).encode()),
        "/c/page": (200, "text/html", b"<html></html>"),
    })


@pytest.fixture
def client(embedded, site):
    _, batch = embedded
    fetcher = GuardedFetcher(FetchPolicy(), transport=httpx.MockTransport(site),
                             resolver={"registrar.tu-example.de": [PUBLIC], "intranet.example": ["10.1.2.3"]})
    settings = VerifierSettings(max_credentials=6)
    with TestClient(create_app(settings, verifier=batch.verifier(), fetcher=fetcher),
                    raise_server_exceptions=False) as c:
        yield c


def links_file(text: str, name: str = "links.csv"):
    return {"links": (name, text.encode("utf-8"), "text/csv")}


def rows_of(response) -> list[list[str]]:
    assert response.status_code == 200, response.text
    return list(csv.reader(io.StringIO(response.text)))


def test_a_csv_of_links_gives_a_verdict_per_row_with_reasons(client, site, embedded):
    _, batch = embedded
    text = ("name,url\n"
            f"Ana,{BASE}/c/0\n"
            f"Lukas,{BASE}/c/tampered\n"
            f"Mia,http://registrar.tu-example.de/c/0\n"
            f"Noah,{BASE}/c/page\n"
            "Olga,registrar.tu-example.de/c/0\n"
            "Piet,\n")
    rows = rows_of(client.post("/verify.csv", files=links_file(text)))
    assert rows[0] == ["source", "credential_id", "verdict", "check", "reason"]
    got = [(r[0], r[2], r[3]) for r in rows[1:]]
    assert got == [
        (f"{BASE}/c/0", "verified", ""),
        (f"{BASE}/c/tampered", "failed", "signature"),
        ("http://registrar.tu-example.de/c/0", "failed", "format"),
        (f"{BASE}/c/page", "failed", "format"),
        ("links.csv row 6", "failed", "format"),
        ("links.csv row 7", "failed", "format"),
    ]
    reasons = [r[4] for r in rows[1:]]
    assert rows[1][1] == batch.credential(0)["id"]
    assert "not followed: http is not allowed for registrar.tu-example.de" in reasons[2]
    assert "text/html" in reasons[3] and "is not JSON" in reasons[3]
    assert "'registrar.tu-example.de/c/0' is not an http(s) link" in reasons[4]
    assert "no link in column 'url'" in reasons[5]
    assert sorted(site.hits) == ["/c/0", "/c/page", "/c/tampered"]


def test_the_page_shows_each_link_report(client):
    text = f"{BASE}/c/0\n{BASE}/c/2\nhttps://intranet.example/secret\n"
    r = client.post("/verify", files=links_file(text))
    assert r.status_code == 200
    assert r.text.count('<article class="report"') == 3
    assert "2 verified, 0 partially verified,\n  1 failed" in r.text
    assert "private address" in r.text and "download=\"verdicts.csv\"" in r.text


def test_a_bare_word_first_row_is_a_header_and_a_link_list_expands(client):
    rows = rows_of(client.post("/verify.csv", files=links_file(f"credential\n{BASE}/c/pair\n")))
    assert [(r[0], r[2]) for r in rows[1:]] == [(f"{BASE}/c/pair[0]", "verified"), (f"{BASE}/c/pair[1]", "verified")]


def test_links_combine_with_files_and_share_the_limit(client, embedded, site):
    _, batch = embedded
    files = [("files", (p.name, p.read_bytes(), "application/json")) for p in batch.result.files[:5]]
    files.append(("links", ("l.csv", f"url\n{BASE}/c/pair\n".encode(), "text/csv")))
    rows = rows_of(client.post("/verify.csv", files=files))
    assert len(rows) == 7  # 5 files + the link, which holds 2 credentials: one more than fits (max 6)
    assert rows[6][0] == f"{BASE}/c/pair" and rows[6][2] == "failed"
    assert "holds 2 credentials, more than fit in one request (at most 6" in rows[6][4]


def test_more_links_than_the_limit_are_refused_before_any_fetch(client, site):
    text = "\n".join(f"{BASE}/c/0?n={i}" for i in range(7))
    r = client.post("/verify.csv", files=links_file(text))
    assert r.status_code == 413 and "at most 6" in r.json()["detail"]
    assert site.hits == []


def test_a_csv_that_is_not_text_is_one_failed_row(client):
    rows = rows_of(client.post("/verify.csv", files={"links": ("x.csv", b"\xff\xfe\x00", "text/csv")}))
    assert [(r[0], r[2]) for r in rows[1:]] == [("x.csv", "failed")] and "not UTF-8" in rows[1][4]


def test_the_form_offers_the_links_field(client):
    html = client.get("/").text
    assert '<label for="links">' in html and 'name="links" type="file"' in html


@pytest.mark.parametrize("text, expected", [
    ("https://a.example/1\nhttps://a.example/2\n", ["https://a.example/1", "https://a.example/2"]),
    ("Link;x\n", ["x.csv row 1"]),  # one cell 'Link;x': not a bare word, not a link
    ("id,LINK\n1,https://a.example/1\n\n2,https://a.example/2\n",
     ["https://a.example/1", "https://a.example/2"]),
    ("\n\n", ["x.csv"]),
])
def test_parse_link_csv(text, expected):
    assert [source for source, _ in parse_link_csv(text.encode(), "x.csv")] == expected


def test_a_link_not_reached_within_the_deadline_gets_a_row_saying_so():
    release = threading.Event()

    def slow(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/slow":
            release.wait(5)
        return httpx.Response(200, headers={"content-type": "application/json"}, content=b'{"id": "x"}')

    fetcher = GuardedFetcher(FetchPolicy(), transport=httpx.MockTransport(slow), resolver={"a.example": [PUBLIC]})
    items = [("https://a.example/fast", PendingLink("https://a.example/fast")),
             ("https://a.example/slow", PendingLink("https://a.example/slow")),
             ("pasted", {"id": "y"})]
    try:
        out = fetch_links(fetcher, items, max_credentials=10, concurrency=2, deadline=0.5, max_bytes=1 << 20)
    finally:
        release.set()
    assert out[0] == ("https://a.example/fast", {"id": "x"})
    assert isinstance(out[1][1], Unreadable) and "0.5 s limit" in out[1][1].reason
    assert out[2] == ("pasted", {"id": "y"})
