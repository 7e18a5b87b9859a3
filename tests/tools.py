"""Small test tools shared across areas: an external program a test needs, and a mock web site for the fetcher.

A missing program skips the test on a developer's machine but fails it under CI (``CI`` set): heavy checks are never
silently skipped there.
"""

from __future__ import annotations

import os
import shutil

import httpx
import pytest


def required_tool(command: str, package: str, purpose: str) -> str:
    """The path of ``command`` (from Debian ``package``), needed ``purpose`` ("to decode QR codes independently")."""
    path = shutil.which(command)
    if path is None:
        message = f"{command} (Debian package {package}) is needed {purpose}"
        if os.environ.get("CI"):
            pytest.fail(message + "; it is required under CI")
        pytest.skip(message)
    return path


class Site:
    """A mock web site for ``httpx.MockTransport``: path -> body, served 200 with ``content_type``; any other path is a
    404 JSON ``{}``. ``hits`` lists each request as ``scheme://host/path``."""

    def __init__(self, routes: dict[str, bytes], content_type: str = "application/json"):
        self.routes, self.content_type, self.hits = routes, content_type, []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.hits.append(f"{request.url.scheme}://{request.headers['host']}{request.url.path}")
        if request.url.path in self.routes:
            return httpx.Response(200, headers={"content-type": self.content_type},
                                  content=self.routes[request.url.path])
        return httpx.Response(404, headers={"content-type": "application/json"}, content=b"{}")
