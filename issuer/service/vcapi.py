"""The VC-API issuance endpoints and the public share links of a credential.

``POST /credentials/issue`` signs the credential at once (eddsa-rdfc-2022) and returns it (201); it joins the tenant's
open batch, which the batch runner seals, anchors and delivers, adding the ``merkle-proof-2019`` proof. ``GET
/credentials/{id}`` always returns the latest form. A body that is not JSON is a 400; JSON that is not an acceptable
credential is a 422 naming the field (``credential.issuer``, ``credential.credentialSubject``, ``options.x``).

``/share/{token}`` and its QR codes and certificate are public: the unguessable token is the capability, as in the
link a learner shares. The renderers are ``issuer.share``.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from issuer import share
from issuer.service import schemas as s
from issuer.service.api import owned
from issuer.service.auth import IssueDep, KeyDep
from issuer.service.deps import BoxDep, DbDep, SettingsDep
from issuer.service.problems import PROBLEM_MEDIA_TYPE, FieldError, ProblemError, responses
from issuer.store import engine as store
from issuer.store.errors import CredentialIdTakenError, CredentialPendingError, IssuanceError
from issuer.store.models import CredentialRecord

router = APIRouter(tags=["VC-API"])
share_router = APIRouter(tags=["share"])

TOKEN = Annotated[str, Path(min_length=16, max_length=64, pattern=r"^[A-Za-z0-9_-]+$",
                            description="the credential's share token")]


def _json(doc: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(doc, ensure_ascii=False), status_code=status, media_type="application/json",
                    headers=headers)


def _invalid(errors: list[FieldError]) -> ProblemError:
    detail = "; ".join(f"{e.field}: {e.detail}" for e in errors)
    return ProblemError(422, "invalid-credential", "Invalid credential", detail, errors=tuple(errors))


@router.post("/credentials/issue", status_code=201, response_model=s.IssueCredentialResponse,
             summary="Issue a credential (scope issue)", responses=responses(400, 401, 403, 409, 413, 422, 503))
def issue_credential(body: s.IssueCredentialRequest, principal: IssueDep, db: DbDep, box: BoxDep,
                     settings: SettingsDep) -> Response:
    """Completes the credential (``issuer`` = the tenant's DID, ``id`` urn:uuid if absent, ``validFrom`` now if
    absent, ``credentialStatus``: revocation and suspension entries in the tenant's status lists), canonicalizes it
    (a term no context defines is refused, never dropped), signs it and adds it to the tenant's open batch. The
    answer carries the signed credential; ``GET /credentials/{id}`` later returns it with its ``merkle-proof-2019``
    proof."""
    unsupported = sorted((body.options.model_extra or {}).keys())
    if unsupported:
        raise _invalid([FieldError(f"options.{name}", "not supported by this issuer (refused rather than ignored)")
                        for name in unsupported])
    credential = body.credential.model_dump(by_alias=True, exclude_unset=True)
    if "proof" in credential:
        raise _invalid([FieldError("credential.proof", "an unsigned credential has no proof: the issuer adds it")])
    cid = credential.get("id")
    if isinstance(cid, str) and len(cid) > 100:
        raise _invalid([FieldError("credential.id", f"at most 100 characters, got {len(cid)}")])
    try:
        record = store.issue_credential(db, box, principal.tenant, credential, public_url=settings.public_url)
        db.commit()
    except CredentialIdTakenError:
        db.rollback()
        raise _id_taken(cid) from None
    except IssuanceError as exc:
        db.rollback()
        field = exc.field if exc.field == "credential" or exc.field.startswith("credential.") else \
            f"credential.{exc.field}"
        raise _invalid([FieldError(field, exc.message)]) from None
    except IntegrityError:
        # Two requests with the same client-chosen id at once: the second commit loses the race to the primary key.
        db.rollback()
        raise _id_taken(cid) from None
    return _json({"verifiableCredential": record.document}, status=201)


def _id_taken(cid: Any) -> ProblemError:
    return ProblemError(409, "credential-id-taken", "Credential id already used",
                        f"credential.id {cid!r} is already used by an issued credential",
                        errors=(FieldError("credential.id", "already used"),))


def owned_credential(db: Session, tenant_id: int, credential_id: str) -> CredentialRecord:
    return owned(db, CredentialRecord, tenant_id, credential_id, "credential")


def _pending(c: CredentialRecord) -> ProblemError:
    return ProblemError(409, "credential-pending", "Credential not signed yet",
                        f"credential {c.id} is in a batch that has not been signed yet; try again shortly")


def latest(c: CredentialRecord) -> dict[str, Any]:
    try:
        return store.latest_document(c)
    except CredentialPendingError:
        raise _pending(c) from None


@router.get("/credentials/{credential_id:path}", summary="A credential in its latest form",
            response_model=dict[str, Any], responses=responses(401, 403, 404, 409))
def get_credential(credential_id: str, principal: KeyDep, db: DbDep) -> Response:
    """The verifiable credential: signed, and with its ``merkle-proof-2019`` proof once its batch is delivered."""
    return _json(latest(owned_credential(db, principal.tenant_id, credential_id)))


# ── public share links ──────────────────────────────────────────────────────────────────────────────────────

def shared(db: Session, token: str) -> tuple[CredentialRecord, dict[str, Any]]:
    c = db.scalar(select(CredentialRecord).where(CredentialRecord.share_token == token))
    if c is None:
        raise ProblemError(404, "not-found", "Not found", "no credential is shared under this link")
    return c, latest(c)


PUBLIC = {"Access-Control-Allow-Origin": "*", "Cache-Control": "no-cache"}


@share_router.get("/share/{token}", summary="A shared credential (public JSON)", response_model=dict[str, Any],
                  responses=responses(404, 409, 422))
def share_json(token: TOKEN, db: DbDep) -> Response:
    """What the verifier fetches from a share link: the credential in its latest form (CORS open to any origin)."""
    _, doc = shared(db, token)
    return _json(doc, headers=PUBLIC)


def _link(settings, token: str) -> str:
    return share.share_link(settings.verifier_url, settings.public_url, token)


@share_router.get("/share/{token}/qr.svg", summary="QR code of the share link (SVG)",
                  responses={200: {"content": {"image/svg+xml": {}}, "description": "SVG"}, **responses(404, 409, 422)},
                  response_class=Response)
def share_qr_svg(token: TOKEN, db: DbDep, settings: SettingsDep) -> Response:
    shared(db, token)
    return Response(share.qr_svg(_link(settings, token)), media_type="image/svg+xml", headers=PUBLIC)


@share_router.get("/share/{token}/qr.png", summary="QR code of the share link (PNG)",
                  responses={200: {"content": {"image/png": {}}, "description": "PNG"}, **responses(404, 409, 422)},
                  response_class=Response)
def share_qr_png(token: TOKEN, db: DbDep, settings: SettingsDep,
                 scale: Annotated[int, Query(ge=1, le=share.MAX_PNG_SCALE, description="pixels per module")] = 8,
                 ) -> Response:
    shared(db, token)
    return Response(share.qr_png(_link(settings, token), scale=scale), media_type="image/png", headers=PUBLIC)


@share_router.get("/share/{token}/certificate.pdf", summary="Printable certificate with the QR code (PDF)",
                  responses={200: {"content": {"application/pdf": {}}, "description": "PDF"},
                             **responses(404, 409, 422)},
                  response_class=Response)
def share_certificate(token: TOKEN, db: DbDep, settings: SettingsDep) -> Response:
    c, doc = shared(db, token)
    return Response(share.certificate_pdf(doc, _link(settings, token)), media_type="application/pdf",
                    headers={**PUBLIC, "Content-Disposition": f'inline; filename="certificate-{c.position + 1}.pdf"'})


__all__ = ["PROBLEM_MEDIA_TYPE", "router", "share_router"]
