"""Status lists as a verifier fetches them from the issuer service under test: a ``verifier.statuslists`` fetcher
over the app's TestClient (no network), and a wait until a tenant's lists are published (a credential's status is
judged only against a list whose digest is anchored)."""

from __future__ import annotations

import time
from typing import Any

from verifier.fetch import FetchRefusedError, FetchUnavailableError

PUBLISH_TIMEOUT = 60.0


class ClientFetcher:
    """``fetch_json(url)`` for URLs under the service's public URL, answered by the TestClient; anything else is
    refused, as a verifier's fetch policy would. ``down`` makes every fetch fail (the issuer's site is gone)."""

    def __init__(self, client: Any, public_url: str):
        self.client = client
        self.public_url = public_url.rstrip("/")
        self.down = False
        self.fetched: list[str] = []

    def fetch_json(self, url: str) -> tuple[str, Any]:
        if not url.startswith(self.public_url + "/"):
            raise FetchRefusedError(f"{url} is not under {self.public_url}")
        if self.down:
            raise FetchUnavailableError(f"{url}: connection refused (the issuer's site is down)")
        self.fetched.append(url)
        r = self.client.get(url[len(self.public_url):])
        if r.status_code != 200:
            raise FetchUnavailableError(f"{url}: HTTP {r.status_code}")
        return url, r.json()


def wait_lists_published(client: Any, headers: dict[str, str], timeout: float = PUBLISH_TIMEOUT) -> list[dict]:
    """The tenant's status lists once every one is published with no change waiting."""
    deadline = time.monotonic() + timeout
    lists: list[dict] = []
    while time.monotonic() < deadline:
        lists = client.get("/status/lists", headers=headers).json()
        if lists and all(sl["version"] > 0 and not sl["pending"] for sl in lists):
            return lists
        time.sleep(0.1)
    raise AssertionError(f"status lists not published within {timeout}s: {lists}")
