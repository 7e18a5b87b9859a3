"""ASGI middleware of the issuer service: a body-size limit answered with a 413 problem, and security headers.

The limit is judged before the app reads the body: a declared Content-Length at once, a chunked body while it is
counted. File uploads (``multipart/form-data``: roster CSVs) get the CSV limit plus room for the form's other fields;
every other body gets the JSON limit. Same approach as the verifier service's middleware, with the issuer's problems.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from issuer.service.problems import Problem, problem_response

# Our pages carry no script and load nothing from elsewhere; the OpenAPI pages (/docs, /redoc) load FastAPI's own.
CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; "
       "frame-ancestors 'none'")
FORM_OVERHEAD = 64 * 1024


def limit_by_content_type(json_limit: int, upload_limit: int) -> Callable[[Scope], int]:
    def limit_for(scope: Scope) -> int:
        ctype = dict(scope["headers"]).get(b"content-type", b"").split(b";")[0].strip().lower()
        return upload_limit + FORM_OVERHEAD if ctype == b"multipart/form-data" else json_limit

    return limit_for


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, limit_for: Callable[[Scope], int]):
        self.app, self.limit_for = app, limit_for

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

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, problem: Problem) -> None:
        await problem_response(Request(scope, receive), problem)(scope, receive, send)


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp):
        self.app = app

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
                    headers += [(b"content-security-policy", CSP.encode()), (b"x-frame-options", b"DENY")]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
