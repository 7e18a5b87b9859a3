"""Errors of the issuer's store (database, sealed secrets, tenants, the batch runner).

``IssuanceError`` carries the field it is about, so the API can answer a 422 problem naming it; the others say what is
wrong and where in one line (never a key, never a stack trace).
"""

from __future__ import annotations

from issuer.errors import IssuerError

__all__ = ["CredentialPendingError", "IssuanceError", "LeaseLostError", "SecretBoxError", "StoreError",
           "TenantExistsError"]


class StoreError(IssuerError):
    """Base of every error the store raises on purpose."""


class SecretBoxError(StoreError):
    """A sealed secret could not be opened: another master secret sealed it, or the blob is damaged or misplaced."""


class TenantExistsError(StoreError, ValueError):
    """A tenant with this slug (or DID) exists already."""


class IssuanceError(StoreError):
    """A VC-API credential that cannot be issued; ``field`` names the offending member (a JSON path like
    ``credentialSubject.foo`` or a top-level name such as ``issuer``)."""

    def __init__(self, field: str, message: str):
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


class CredentialIdTakenError(IssuanceError):
    """The client-chosen ``id`` is already used by an issued credential (the API answers 409, not 422)."""

    def __init__(self, cid: str):
        super().__init__("id", f"a credential with id {cid} was issued already")
        self.cid = cid


class CredentialPendingError(StoreError):
    """The credential exists but has no signed form yet (its roster batch has not been signed)."""


class LeaseLostError(StoreError):
    """Another worker took over the batch (our lease expired): this worker stops touching it."""
