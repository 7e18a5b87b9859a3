"""The issuer service's body limits: file uploads (``multipart/form-data``: roster CSVs) get the CSV limit plus room
for the form's other fields; every other body gets the JSON limit.

The middlewares themselves (the body limit and the security headers) are the verifier service's
(``verifier.service.middleware``), given this limit and the issuer's problem answers in ``issuer.service.app``.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import Scope

FORM_OVERHEAD = 64 * 1024


def limit_by_content_type(json_limit: int, upload_limit: int) -> Callable[[Scope], int]:
    """The ``limit_for`` of the body-limit middleware: judged on the declared content type, before any body is read."""

    def limit_for(scope: Scope) -> int:
        ctype = dict(scope["headers"]).get(b"content-type", b"").split(b";")[0].strip().lower()
        return upload_limit + FORM_OVERHEAD if ctype == b"multipart/form-data" else json_limit

    return limit_for

