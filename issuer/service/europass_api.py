"""``GET /credentials/{id}/europass``: one of the tenant's credentials as a Europass Digital Credential (ELM 3).

Scope ``issue`` (the registrars who issue may export); the tenant comes from the API key, and another tenant's
credential is a 404 exactly like one that does not exist. The mapping is ``verifier.elm.MAPPING`` (docs/europass.md).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse
from sqlalchemy import select

from issuer.europass import EuropassExportError, to_europass
from issuer.service.auth import IssueDep
from issuer.service.deps import DbDep
from issuer.service.problems import ProblemError, not_found, responses
from issuer.store.models import CredentialRecord

router = APIRouter()
CredentialId = Annotated[str, Path(min_length=1, max_length=100, description="the credential's id (urn:uuid:…)")]


@router.get(
    "/credentials/{credential_id}/europass",
    tags=["credentials"],
    summary="A credential as a Europass Digital Credential (ELM 3 JSON-LD; scope issue)",
    response_class=JSONResponse,
    responses={200: {"content": {"application/ld+json": {"schema": {"type": "object"}}},
                     "description": "the EDC (unsigned; names the anchorcred credential in `identifier`)"},
               **responses(401, 403, 404, 409, 422)},
)
def credential_europass(credential_id: CredentialId, principal: IssueDep, db: DbDep) -> JSONResponse:
    """Sync: FastAPI runs it in its threadpool (the database session, and the display PNG the export draws)."""
    record = db.scalar(select(CredentialRecord).where(CredentialRecord.id == credential_id,
                                                      CredentialRecord.tenant_id == principal.tenant_id))
    if record is None:
        raise not_found("credential", credential_id)
    if record.document is None:
        raise ProblemError(409, "not-signed-yet", "Not signed yet",
                           f"credential {credential_id} is not signed yet; export it once its batch is signed")
    try:
        edc = to_europass(record.document)
    except EuropassExportError as exc:
        raise ProblemError(409, "not-exportable", "Cannot be exported to Europass", str(exc)) from exc
    return JSONResponse(edc, media_type="application/ld+json")
