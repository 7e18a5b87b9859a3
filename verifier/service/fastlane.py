"""A fast lane for the hottest request: a well-formed ``POST /credentials/verify``.

Measured on this machine (scripts/loadtest.py, a stub verifier that answers at once): FastAPI's routing, dependency
solving and body validation cost about 0.11 ms of CPU per request, as much as a seventh of a verification. This ASGI
middleware answers a request that is certainly well-formed (a JSON content type, a strict RFC 8259 body that
``VerifyCredentialRequest`` validates, a started service) by calling the very function the route calls
(``api.answer_credential``). Anything else (malformed JSON, a schema error, another content type, a service not
started) is handed on untouched, with its body, to the FastAPI route: every problem answer still comes from there,
and the route stays what the OpenAPI document describes. It sits inside the body-limit and security-header
middlewares, so limits and headers apply to both ways alike.
"""

from __future__ import annotations

from pydantic import ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from verifier.service import jsontext
from verifier.service.api import VerifyCredentialRequest, answer_credential

PATH = "/credentials/verify"


def _json_content_type(scope: Scope) -> bool:
    """application/json or application/*+json: a subset of what FastAPI reads as JSON (anything unusual goes on)."""
    for name, value in scope["headers"]:
        if name == b"content-type":
            media = value.split(b";", 1)[0].strip().lower()
            return media == b"application/json" or (media.startswith(b"application/") and media.endswith(b"+json"))
    return False


class CredentialFastLane:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != PATH:
            await self.app(scope, receive, send)
            return
        app_state = scope["app"].state
        verifier = getattr(app_state, "verifier", None)
        if verifier is None or not _json_content_type(scope):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        try:
            request = VerifyCredentialRequest.model_validate(jsontext.loads(body))
        except (ValueError, ValidationError):  # the route answers with the problem (400 or 422)
            await self.app(scope, _replay(body, receive), send)
            return
        response = await answer_credential(verifier, request, size=len(body),
                                           inline_max_bytes=app_state.settings.inline_max_bytes)
        await response(scope, receive, send)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
