"""Status of issued credentials: revoke, suspend, reinstate (scope ``revoke``), and the public status lists.

Write routes (each names the credentials of the caller's tenant only; another tenant's is "not found", 404):

- ``POST /credentials/{id}/revoke`` | ``/suspend`` | ``/reinstate`` with ``{"reason": ...}``: one credential;
- ``POST /status/changes`` with ``{"action", "credentialIds": [...], "reason"}``: many at once, all or nothing;
- ``POST /credentials/status``: the VC-API's form, ``{"credentialId", "credentialStatus": [{"type", "status"}]}``
  with status ``revoked`` / ``suspended`` / ``unsuspended`` (and an optional ``reason``).

A change answers 202: it is recorded at once and published by the status publisher (``issuer.status.publisher``),
with every other change of the same list, in one ledger transaction. ``GET /credentials/{id}/status`` says whether it
is published yet. Reading: ``GET /status/lists`` and ``GET /status/publications``.

Public: ``GET /tenants/{slug}/status/{list}`` serves the latest published list credential, with ``Cache-Control``,
``ETag`` (its anchored digest), ``Last-Modified`` (its anchoring block time) and 304 for ``If-None-Match`` /
``If-Modified-Since``; CORS open, as verifiers in browsers fetch it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from issuer.service.auth import KeyDep, Principal, RevokeDep
from issuer.service.deps import DbDep, SettingsDep
from issuer.service.problems import FieldError, ProblemError, not_found, responses
from issuer.status.changes import (MAX_CREDENTIALS, MAX_REASON, ChangeResult, StatusChangeError, change_status,
                                   status_of)
from issuer.store.models import (ApiKey, PublicationState, StatusAction, StatusEntry, StatusList, StatusPublication,
                                 Tenant)
from issuer.store.tenants import SLUG_RE

__all__ = ["apply_change", "change_problem", "public_router", "router"]

router = APIRouter(tags=["status"])
public_router = APIRouter(tags=["status"])

AUTH = (401, 403)
VCAPI_STATUS = {"revoked": StatusAction.REVOKE, "suspended": StatusAction.SUSPEND,
                "unsuspended": StatusAction.REINSTATE, "reinstated": StatusAction.REINSTATE}
VCAPI_TYPES = ("BitstringStatusListCredential", "BitstringStatusListEntry")
VCAPI_DEFAULT_REASON = "(no reason given: VC-API status update)"
LIST_ID = Annotated[str, Path(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
                              description="the list's id (the last segment of its URL)")]
Reason = Annotated[str, Field(min_length=1, max_length=MAX_REASON, description="why (kept in the issuer's records)")]


# ── bodies ──────────────────────────────────────────────────────────────────────────────────────────────────

class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Reason


class ChangesIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "action": "revoke", "credentialIds": ["urn:uuid:0b5e3b6c-6f8e-4bb4-9c50-0e9a3f2d9a11"],
        "reason": "issued to the wrong learner"}]})
    action: Literal["revoke", "suspend", "reinstate"]
    credentialIds: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        min_length=1, max_length=MAX_CREDENTIALS)
    reason: Reason


class VcApiStatusItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: str = Field(description="BitstringStatusListCredential (or BitstringStatusListEntry)")
    status: str = Field(description="revoked, suspended or unsuspended")


class VcApiStatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    credentialId: str = Field(min_length=1, max_length=100)
    credentialStatus: list[VcApiStatusItem] = Field(min_length=1, max_length=2)
    reason: Reason | None = Field(None, description="an extension of this issuer: kept in its records")


class ChangeOut(BaseModel):
    action: str
    changed: list[str] = Field(description="credentials whose status changed (one record each)")
    unchanged: list[str] = Field(description="credentials that were so already (nothing recorded)")
    published: Literal[False] = Field(False, description="changes are published by the status publisher, in "
                                                         "one ledger transaction per list; see "
                                                         "GET /credentials/{id}/status")

    @classmethod
    def of(cls, result: ChangeResult) -> ChangeOut:
        return cls(action=result.action.value, changed=result.changed, unchanged=result.unchanged)


class ListOut(BaseModel):
    id: str
    purpose: str
    url: str
    size: int
    entries: int = Field(description="indices allocated")
    version: int = Field(description="the registry's version of the served list (0: not published yet)")
    digest: str | None
    published_at: str | None
    pending: bool = Field(description="changes wait for the next publication")


class PublicationOut(BaseModel):
    id: str
    list: str
    state: str
    ones: int | None = Field(description="bits set in the published list")
    version: int | None
    tx_hash: str | None
    block_number: int | None
    gas_used: int | None
    error: str | None
    created_at: str | None


# ── changes ─────────────────────────────────────────────────────────────────────────────────────────────────

def actor_of(db: Session, principal: Principal) -> str:
    prefix = db.scalar(select(ApiKey.prefix).where(ApiKey.id == principal.key_id))
    return f"api key {prefix}"


def apply_change(db: Session, tenant_id: int, ids: list[str], action: StatusAction | str, *, reason: str,
                 actor: str, field: str = "credentialIds") -> ChangeResult:
    """``change_status`` committed, its refusals as problems (404 naming unknown ids, 409 naming conflicts, 422)."""
    try:
        result = change_status(db, tenant_id, ids, action, reason=reason, actor=actor)
    except (StatusChangeError, ValueError) as exc:
        db.rollback()
        raise change_problem(exc, ids, field) from None
    db.commit()
    return result


def change_problem(exc: StatusChangeError | ValueError, ids: list[str], field: str) -> ProblemError:
    if not isinstance(exc, StatusChangeError):
        return ProblemError(422, "invalid-status-change", "Invalid status change", str(exc))
    where = {cid: i for i, cid in enumerate(ids)}
    if exc.unknown:
        return ProblemError(404, "not-found", "Not found", str(exc),
                            errors=tuple(FieldError(_at(field, where, cid), "no such credential for this tenant")
                                         for cid in exc.unknown[:100]))
    return ProblemError(409, "status-conflict", "Status cannot change", str(exc),
                        errors=tuple(FieldError(_at(field, where, cid), why)
                                     for cid, why in list(exc.conflicts.items())[:100]))


def _at(field: str, where: dict[str, int], cid: str) -> str:
    return f"{field}[{where[cid]}]" if field.endswith("s") and cid in where else field


def _one(action: StatusAction, credential_id: str, body: ReasonIn, principal: Principal, db: Session) -> ChangeOut:
    result = apply_change(db, principal.tenant_id, [credential_id], action, reason=body.reason,
                          actor=actor_of(db, principal), field="credential_id")
    return ChangeOut.of(result)


_ONE = dict(status_code=202, response_model=ChangeOut, responses=responses(*AUTH, 404, 409, 422))


@router.post("/credentials/{credential_id:path}/revoke", summary="Revoke a credential, for good (scope revoke)",
             **_ONE)
def revoke(credential_id: str, body: ReasonIn, principal: RevokeDep, db: DbDep) -> ChangeOut:
    return _one(StatusAction.REVOKE, credential_id, body, principal, db)


@router.post("/credentials/{credential_id:path}/suspend", summary="Suspend a credential (scope revoke)", **_ONE)
def suspend(credential_id: str, body: ReasonIn, principal: RevokeDep, db: DbDep) -> ChangeOut:
    return _one(StatusAction.SUSPEND, credential_id, body, principal, db)


@router.post("/credentials/{credential_id:path}/reinstate", summary="Lift a suspension (scope revoke)", **_ONE)
def reinstate(credential_id: str, body: ReasonIn, principal: RevokeDep, db: DbDep) -> ChangeOut:
    return _one(StatusAction.REINSTATE, credential_id, body, principal, db)


@router.post("/status/changes", summary="Revoke, suspend or reinstate many credentials (scope revoke)", **_ONE)
def changes(body: ChangesIn, principal: RevokeDep, db: DbDep) -> ChangeOut:
    """All or nothing: one unknown credential (404), or one whose status cannot change so (409: a revoked one
    cannot be suspended or reinstated), refuses the request, naming each offending id."""
    result = apply_change(db, principal.tenant_id, body.credentialIds, body.action, reason=body.reason,
                          actor=actor_of(db, principal))
    return ChangeOut.of(result)


@router.post("/credentials/status", summary="Update a credential's status, VC-API form (scope revoke)", **_ONE)
def vcapi_status(body: VcApiStatusIn, principal: RevokeDep, db: DbDep) -> ChangeOut:
    """``{"credentialId", "credentialStatus": [{"type": "BitstringStatusListCredential", "status": "revoked"}]}``;
    status ``revoked``, ``suspended`` or ``unsuspended``. Two items are applied in order, in one transaction."""
    actions = []
    for i, item in enumerate(body.credentialStatus):
        if item.type not in VCAPI_TYPES:
            raise ProblemError(422, "invalid-status-change", "Invalid status change",
                               f"credentialStatus[{i}].type must be one of {', '.join(VCAPI_TYPES)}",
                               errors=(FieldError(f"credentialStatus[{i}].type", f"got {item.type!r}"),))
        if item.status not in VCAPI_STATUS:
            raise ProblemError(422, "invalid-status-change", "Invalid status change",
                               f"credentialStatus[{i}].status must be one of {', '.join(VCAPI_STATUS)}",
                               errors=(FieldError(f"credentialStatus[{i}].status", f"got {item.status!r}"),))
        actions.append(VCAPI_STATUS[item.status])
    actor = actor_of(db, principal)
    reason = body.reason or VCAPI_DEFAULT_REASON
    changed: list[str] = []
    unchanged: list[str] = []
    try:
        for action in actions:
            result = change_status(db, principal.tenant_id, [body.credentialId], action, reason=reason, actor=actor)
            changed += result.changed
            unchanged += result.unchanged
    except (StatusChangeError, ValueError) as exc:
        db.rollback()  # all items or none
        raise change_problem(exc, [body.credentialId], "credentialId") from None
    db.commit()
    return ChangeOut(action="+".join(a.value for a in actions), changed=sorted(set(changed)),
                     unchanged=sorted(set(unchanged) - set(changed)))


@router.get("/credentials/{credential_id:path}/status", summary="A credential's status and its history",
            response_model=dict[str, Any], responses=responses(*AUTH, 404))
def credential_status(credential_id: str, principal: KeyDep, db: DbDep) -> dict[str, Any]:
    """Revoked? suspended? (as the next publication will show), whether that is published yet, the entries (list
    URL, index, the served list's version) and every change with its reason, actor and time."""
    found = status_of(db, principal.tenant_id, credential_id)
    if found is None:
        raise not_found("credential", credential_id)
    return found


# ── lists and publications ──────────────────────────────────────────────────────────────────────────────────

@router.get("/status/lists", response_model=list[ListOut], summary="This tenant's status lists",
            responses=responses(*AUTH))
def lists(principal: KeyDep, db: DbDep) -> list[ListOut]:
    rows = db.scalars(select(StatusList).where(StatusList.tenant_id == principal.tenant_id)
                      .order_by(StatusList.created_at, StatusList.id)).all()
    counts = dict(db.execute(select(StatusEntry.list_id, func.count()).where(StatusEntry.tenant_id ==
                                                                            principal.tenant_id)
                             .group_by(StatusEntry.list_id)).all())
    return [ListOut(id=sl.id, purpose=sl.purpose.value, url=sl.url, size=sl.size, entries=counts.get(sl.id, 0),
                    version=sl.version, digest=sl.digest, published_at=_iso(sl.published_at),
                    pending=sl.revision > sl.published_revision) for sl in rows]


@router.get("/status/publications", response_model=list[PublicationOut], summary="Recent status publications",
            responses=responses(*AUTH, 422))
def publications(principal: KeyDep, db: DbDep,
                 limit: Annotated[int, Query(ge=1, le=200)] = 50,
                 state: Annotated[PublicationState | None, Query()] = None) -> list[PublicationOut]:
    where = [StatusPublication.tenant_id == principal.tenant_id]
    if state is not None:
        where.append(StatusPublication.state == state)
    rows = db.scalars(select(StatusPublication).where(*where)
                      .order_by(StatusPublication.created_at.desc(), StatusPublication.id).limit(limit)).all()
    return [PublicationOut(id=p.id, list=p.list_id, state=p.state.value, ones=p.ones, version=p.version,
                           tx_hash=p.tx_hash, block_number=p.block_number, gas_used=p.gas_used, error=p.error,
                           created_at=_iso(p.created_at)) for p in rows]


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return _utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def _utc(moment: datetime) -> datetime:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


# ── public: the lists ───────────────────────────────────────────────────────────────────────────────────────

@public_router.get("/tenants/{slug}/status/{list_id}", summary="A status list credential (public)",
                   response_model=dict[str, Any],
                   responses={304: {"description": "Not modified (If-None-Match / If-Modified-Since)"},
                              **responses(404, 422)})
def status_list(slug: Annotated[str, Path(max_length=64, pattern=SLUG_RE.pattern)], list_id: LIST_ID,
                request: Request, db: DbDep, settings: SettingsDep) -> Response:
    """The latest published ``BitstringStatusListCredential`` of the list: signed by the tenant, its digest anchored
    on the ledger (``ETag`` is that digest). 404 for an unknown list, and for one not published yet."""
    row = db.execute(select(StatusList.document, StatusList.digest, StatusList.published_at)
                     .join(Tenant, Tenant.id == StatusList.tenant_id)
                     .where(Tenant.slug == slug, StatusList.id == list_id)).first()
    if row is None:
        raise ProblemError(404, "not-found", "Not found", f"no status list {list_id} for tenant {slug!r}")
    document, digest, published_at = row
    if document is None:
        raise ProblemError(404, "not-published", "Not published yet",
                           f"status list {list_id} has not been published yet; try again shortly")
    modified = _utc(published_at).replace(microsecond=0)
    headers = {"ETag": f'"{digest}"', "Last-Modified": format_datetime(modified, usegmt=True),
               "Cache-Control": f"public, max-age={settings.status_ttl}", "Access-Control-Allow-Origin": "*",
               "Access-Control-Expose-Headers": "ETag, Last-Modified"}
    if _not_modified(request, digest, modified):
        return Response(status_code=304, headers=headers)
    return Response(json.dumps(document, ensure_ascii=False), media_type="application/json", headers=headers)


def _not_modified(request: Request, digest: str, modified: datetime) -> bool:
    """RFC 9110 §13.1.2 (If-None-Match, weak comparison) first; If-Modified-Since only without it (§13.1.3)."""
    match = request.headers.get("if-none-match")
    if match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in match.split(",")}
        return "*" in tags or f'"{digest}"' in tags
    since = request.headers.get("if-modified-since")
    if since:
        try:
            when = parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False  # an invalid date is ignored (§13.1.3)
        if when.tzinfo is None:
            return False
        return modified <= when
    return False
