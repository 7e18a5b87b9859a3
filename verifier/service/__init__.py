"""The verifier as a web service: the VC-API (``POST /credentials/verify``, ``POST /presentations/verify``) and the
employer's page.

Stateless apart from caches; imports nothing from the issuer. Start it with
``uvicorn --factory verifier.service.app:create_app``.
"""

from verifier.service.app import create_app

__all__ = ["create_app"]
