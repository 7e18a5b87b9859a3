"""Admin pages for credential status: one credential's status with Revoke / Suspend / Reinstate buttons and its
history, and the status overview (lists, publications) with a form that changes many credentials at once.

Same rules as the other pages (``issuer.service.pages``): the admin session, the CSRF token on every form, every
query filtered on the session's tenant. The work is the API's (``status_api.apply_change``), so a change the page
accepts is one the API accepts, with the same messages; the actor recorded is ``admin <username>``.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from issuer.service.auth import AdminDep, AdminSession, require_csrf
from issuer.service.deps import DbDep
from issuer.service.pages import not_found, render
from issuer.service.problems import ProblemError
from issuer.service.status_api import apply_change
from issuer.status.changes import MAX_CREDENTIALS, status_of
from issuer.store.models import CredentialRecord, StatusList, StatusPublication

__all__ = ["router"]

router = APIRouter(prefix="/admin", include_in_schema=False)
CSRF = [Depends(require_csrf)]
ACTIONS = {"revoke": "Revoked", "suspend": "Suspended", "reinstate": "Reinstated"}
_IDS = re.compile(r"[\s,;]+")


def _actor(admin: AdminSession) -> str:
    return f"admin {admin.user.username}"[:200]


def _form_text(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


# ── one credential ──────────────────────────────────────────────────────────────────────────────────────────

def _credential_page(request: Request, admin: AdminSession, db: Session, credential_id: str, *,
                     flash: str | None = None, error: str | None = None, status: int = 200) -> Response:
    found = status_of(db, admin.tenant_id, credential_id)
    if found is None:
        return not_found(request, admin, "credential")
    record = db.scalar(select(CredentialRecord).where(CredentialRecord.id == credential_id,
                                                      CredentialRecord.tenant_id == admin.tenant_id))
    return render(request, "status_credential.html", {"status": found, "record": record, "flash": flash,
                                                      "error": error}, status, admin)


@router.get("/credentials/{credential_id:path}/status")
def credential_status_page(credential_id: str, request: Request, admin: AdminDep, db: DbDep) -> Response:
    return _credential_page(request, admin, db, credential_id)


@router.post("/credentials/{credential_id:path}/status", dependencies=CSRF)
async def credential_status_submit(credential_id: str, request: Request, admin: AdminDep, db: DbDep) -> Response:
    form = await request.form()
    action, reason = _form_text(form, "action"), _form_text(form, "reason")
    if action not in ACTIONS:
        return _credential_page(request, admin, db, credential_id, error=f"unknown action {action!r}", status=422)
    try:
        result = await run_in_threadpool(apply_change, db, admin.tenant_id, [credential_id], action, reason=reason,
                                         actor=_actor(admin), field="credential")
    except ProblemError as exc:
        return _credential_page(request, admin, db, credential_id, error=exc.detail, status=exc.status)
    message = (f"{ACTIONS[action]}. The change is published with the next status list publication."
               if result.changed else f"Nothing to do: the credential is {ACTIONS[action].lower()} already.")
    return _credential_page(request, admin, db, credential_id, flash=message)


# ── overview and many at once ───────────────────────────────────────────────────────────────────────────────

def _overview(request: Request, admin: AdminSession, db: Session, *, flash: str | None = None,
              error: str | None = None, values: dict[str, str] | None = None, status: int = 200) -> Response:
    lists = db.scalars(select(StatusList).where(StatusList.tenant_id == admin.tenant_id)
                       .order_by(StatusList.created_at, StatusList.id)).all()
    publications = db.scalars(select(StatusPublication).where(StatusPublication.tenant_id == admin.tenant_id)
                              .order_by(StatusPublication.created_at.desc(), StatusPublication.id).limit(20)).all()
    return render(request, "status.html", {"lists": lists, "publications": publications, "flash": flash,
                                           "error": error, "values": values or {}, "max_ids": MAX_CREDENTIALS},
                  status, admin)


@router.get("/status")
def status_overview(request: Request, admin: AdminDep, db: DbDep) -> Response:
    return _overview(request, admin, db)


@router.post("/status", dependencies=CSRF)
async def status_bulk(request: Request, admin: AdminDep, db: DbDep) -> Response:
    form = await request.form()
    values = {name: _form_text(form, name) for name in ("ids", "reason", "action")}
    ids = [i for i in _IDS.split(values["ids"]) if i]
    action = values["action"]
    if action not in ACTIONS:
        return _overview(request, admin, db, error=f"choose revoke, suspend or reinstate (got {action!r})",
                         values=values, status=422)
    try:
        result = await run_in_threadpool(apply_change, db, admin.tenant_id, ids, action, reason=values["reason"],
                                         actor=_actor(admin), field="ids")
    except ProblemError as exc:
        detail = exc.detail + "".join(f"; {e.field}: {e.detail}" for e in exc.errors[:10])
        return _overview(request, admin, db, error=detail, values=values, status=exc.status)
    message = f"{ACTIONS[action]} {len(result.changed)} credential(s)"
    if result.unchanged:
        message += f"; {len(result.unchanged)} were so already"
    return _overview(request, admin, db, flash=message + ". Published with the next status list publication.")
