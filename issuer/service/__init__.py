"""The issuer service (the university): a FastAPI app over the issuer's store.

``issuer.service.app:create_app`` is the factory; ``python -m issuer.service`` migrates, creates tenants and keys, and
serves. API routes in ``api.py`` and ``vcapi.py``, admin pages in ``pages.py``, authentication in ``auth.py``.
"""
