"""EBSI's pagination: ``page[after]`` (the page number, from 1) and ``page[size]`` (1 to 50) in; ``self``, ``items``,
``total``, ``pageSize`` and ``links`` (``first``, ``prev``, ``next``, ``last``) out (EBSI API v4/v5 list answers)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from fastapi import Request

from ebsi.errors import InvalidParamsError

__all__ = ["DEFAULT_PAGE_SIZE", "MAX_PAGE_SIZE", "page"]

DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 50


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isdecimal() or not low <= int(raw) <= high:
        raise InvalidParamsError(f"Bad Paging Request: {name} must be a whole number from {low} to {high}, got {raw!r}")
    return int(raw)


def page(request: Request, base_url: str, path: str, total: int, fetch: Callable[[int, int], list[Any]],
         extra_query: dict[str, str] | None = None) -> dict[str, Any]:
    """One page of a collection of ``total`` items; ``fetch(start, count)`` returns the items of the page."""
    size = _int_param(request, "page[size]", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    after = _int_param(request, "page[after]", 1, 1, 10**9)
    last = max(1, -(-total // size))
    start = (after - 1) * size
    items = fetch(start, min(size, total - start)) if start < total else []

    def link(n: int) -> str:
        return f"{base_url}{path}?" + urlencode({**(extra_query or {}), "page[after]": n, "page[size]": size}, safe="[]:")

    return {
        "self": link(after),
        "items": items,
        "total": total,
        "pageSize": size,
        "links": {"first": link(1), "prev": link(max(1, min(after, last + 1) - 1)), "next": link(min(last, after + 1)),
                  "last": link(last)},
    }
