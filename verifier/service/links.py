"""Bulk verify-by-link: the links of a CSV file (read by ``intake.parse_link_csv``), each fetched through the
guarded fetcher.

A link the fetch policy refuses, one that cannot be fetched, or one not reached within the time limit each becomes a
failed report whose reason says so (no row is dropped silently). Limits: the links count against
``max_credentials`` of the request (``intake.read_form`` refuses more with 413 before anything is fetched); at most
``concurrency`` fetches at once, each under the fetcher's own limits (size, time, redirects), all within one
``deadline`` (seconds) for the request.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor, wait

from verifier.fetch import FetchRefusedError, FetchUnavailableError, GuardedFetcher
from verifier.service.intake import Item, PendingLink, Unreadable, parse_credentials

def _fetch_one(fetcher: GuardedFetcher, link: str, max_bytes: int) -> list[Item]:
    try:
        _final, data = fetcher.fetch_json(link)
    except FetchRefusedError as exc:
        return [(link, Unreadable(f"the link was not followed: {exc.reason}"))]
    except FetchUnavailableError as exc:
        return [(link, Unreadable(f"the credential could not be fetched: {exc.reason}"))]
    # Through the same reading as an uploaded file: strict JSON, the size limit, a list gives one item each.
    return parse_credentials(json.dumps(data).encode("utf-8"), link, max_bytes=max_bytes)


def fetch_links(fetcher: GuardedFetcher, items: list[Item], *, max_credentials: int, concurrency: int,
                deadline: float, max_bytes: int) -> list[Item]:
    """``items`` with every PendingLink replaced by what its link holds (or why it holds nothing), in order.

    A link holding a list of credentials gives one item each, as long as the request stays within
    ``max_credentials``; a link that would go past it becomes one failed row saying so.
    """
    pending = [(i, item[1].url) for i, item in enumerate(items) if isinstance(item[1], PendingLink)]
    if not pending:
        return items
    results: dict[int, list[Item]] = {}
    pool = ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(pending))), thread_name_prefix="link-fetch")
    try:
        futures = {pool.submit(_fetch_one, fetcher, url, max_bytes): i for i, url in pending}
        done, not_done = wait(futures, timeout=deadline)
        for future in done:
            results[futures[future]] = future.result()
        for future in not_done:
            future.cancel()
            i = futures[future]
            results[i] = [(items[i][0], Unreadable(f"not fetched: the {deadline:g} s limit for the links of one "
                                                   "request was reached"))]
    finally:
        # Running fetches end within the fetcher's own timeout; nobody waits for them here.
        pool.shutdown(wait=False, cancel_futures=True)
    out: list[Item] = []
    spare = max_credentials - len(items)  # every item has its one place; a link holding a list needs more
    for i, item in enumerate(items):
        got = results.get(i, [item])
        if len(got) - 1 > spare:
            got = [(item[0], Unreadable(f"the link holds {len(got)} credentials, more than fit in one request "
                                        f"(at most {max_credentials} credentials are verified at once)"))]
        spare -= len(got) - 1
        out.extend(got)
    return out
