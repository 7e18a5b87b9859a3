"""EBSI's pagination on every list: page[after] (page number) and page[size] (1..50), self/items/total/pageSize/links,
and the read client following links.next to the end."""

from __future__ import annotations

import hashlib

from verifier.ledger.ebsi import EbsiReadClient, timestamp_id


def test_pages_and_links(kit):
    writer = kit.client()
    hashes = [hashlib.sha256(bytes([i])).digest() for i in range(7)]
    for start in range(0, 7, 3):
        writer.timestamp_hashes(hashes[start:start + 3])
    first = kit.http.get("/timestamp/v4/timestamps", params={"page[size]": 3}).json()
    assert first["total"] == 7 and first["pageSize"] == 3 and len(first["items"]) == 3
    assert first["self"] == "http://ebsi.test/timestamp/v4/timestamps?page[after]=1&page[size]=3"
    assert first["links"] == {
        "first": "http://ebsi.test/timestamp/v4/timestamps?page[after]=1&page[size]=3",
        "prev": "http://ebsi.test/timestamp/v4/timestamps?page[after]=1&page[size]=3",
        "next": "http://ebsi.test/timestamp/v4/timestamps?page[after]=2&page[size]=3",
        "last": "http://ebsi.test/timestamp/v4/timestamps?page[after]=3&page[size]=3",
    }
    last = kit.http.get(first["links"]["last"]).json()
    assert len(last["items"]) == 1 and last["pageSize"] == 3
    assert last["links"]["next"] == last["self"]
    assert kit.http.get("/timestamp/v4/timestamps", params={"page[after]": 9, "page[size]": 3}).json()["items"] == []
    assert first["items"][0] == {"timestampId": timestamp_id(hashes[0]),
                                 "href": f"http://ebsi.test/timestamp/v4/timestamps/{timestamp_id(hashes[0])}"}


def test_bad_paging_requests_are_400_problems(kit):
    for params in ({"page[size]": 0}, {"page[size]": 51}, {"page[after]": 0}, {"page[size]": "ten"}):
        answer = kit.http.get("/trusted-issuers-registry/v5/issuers", params=params)
        assert answer.status_code == 400, params
        assert answer.headers["content-type"] == "application/problem+json"
        assert "Bad Paging Request" in answer.json()["detail"]


def test_the_read_client_follows_every_page(kit):
    writer = kit.client()
    hashes = [hashlib.sha256(b"p" + bytes([i])).digest() for i in range(5)]
    writer.timestamp_hashes(hashes[:3])
    writer.timestamp_hashes(hashes[3:])
    reader = EbsiReadClient("http://ebsi.test", client=kit.http)
    items = list(reader.collection("/timestamp/v4/timestamps", {"page[size]": 2}))
    assert [i["timestampId"] for i in items] == [timestamp_id(h) for h in hashes]
