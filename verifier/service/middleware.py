"""ASGI middleware shared by the verifier and issuer services: a body-size limit answered with a 413 problem, and
security headers.

The limit is judged before the app reads the body: a declared Content-Length at once (the server holds the client to
it), a body without one while it is read and counted here, handed on only when it stayed within the limit. Each
service says which limit a request gets (``limit_for``) and how its problems are answered (``respond``: the verifier's
also renders a page for a browser, the issuer's is JSON only). Lives in the verifier because the issuer may import
the verifier, never the reverse.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from verifier.service.problems import Problem, problem_response

# Our pages carry no script and load nothing from elsewhere; the OpenAPI pages (/docs, /redoc) load FastAPI's own.
CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; "
       "frame-ancestors 'none'")

Respond = Callable[[Request, Problem], Response]


class BodyLimitMiddleware:
    """Refuses a request body above ``limit_for(scope)`` bytes with a 413 problem before the app reads any of it."""

    def __init__(self, app: ASGIApp, *, limit_for: Callable[[Scope], int], respond: Respond = problem_response):
        self.app, self.limit_for, self.respond = app, limit_for, respond

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            size = int(declared) if declared.isdigit() else -1
            if size < 0:
                await self._refuse(scope, receive, send, Problem(
                    400, "bad-request", "Bad request",
                    f"Content-Length must be a whole number, got {declared[:40].decode('latin-1')!r}"))
            elif size > limit:
                await self._too_large(scope, receive, send, limit, f"{size} bytes")
            else:
                await self.app(scope, receive, send)
            return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > limit:
                await self._too_large(scope, receive, send, limit, "more")
                return
            if not message.get("more_body", False):
                break
        replay: list[Message] = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]

        async def replay_receive() -> Message:
            return replay.pop() if replay else await receive()

        await self.app(scope, replay_receive, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send, limit: int, got: str) -> None:
        await self._refuse(scope, receive, send, Problem(413, "content-too-large", "Content too large",
                                                         f"the request body may hold at most {limit} bytes, got {got}"))

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, problem: Problem) -> None:
        await self.respond(Request(scope, receive), problem)(scope, receive, send)


class SecurityHeadersMiddleware:
    """nosniff and no-referrer on every answer; the CSP (and, with ``deny_framing``, ``X-Frame-Options: DENY``) on
    every answer but the OpenAPI pages, which load FastAPI's own scripts."""

    def __init__(self, app: ASGIApp, *, deny_framing: bool = False):
        self.app = app
        self.page_headers = [(b"content-security-policy", CSP.encode())]
        if deny_framing:
            self.page_headers.append((b"x-frame-options", b"DENY"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        docs = scope["path"].startswith(("/docs", "/redoc"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]
                if not docs:
                    headers += self.page_headers
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
