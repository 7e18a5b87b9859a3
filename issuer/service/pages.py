"""The registrar's admin pages: log in, define an achievement, upload and check a roster, issue it, follow the batch,
hand out each credential (JSON, share link, QR codes, PDF certificate).

Server-rendered (Jinja2), no JavaScript, no external assets: a running batch is followed with ``<meta
http-equiv="refresh">``. Every page needs the admin session (``auth.require_admin_session``: a redirect to the login
page otherwise) and every form carries the session's CSRF token (``auth.require_csrf``: 403 without it). Every query
filters on the session's tenant, so another tenant's achievement, roster or batch is "not found" (404), as in the API.

The work itself is the API's (``api.py``): the pages call the same functions, so a roster the page accepts is one the
API accepts, with the same messages. Pages are for people and are left out of the OpenAPI document.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from issuer import share
from issuer.achievement import (ACCREDITATION_TYPES, ASSESSMENT_MODES, ASSESSMENT_TYPES, PARTICIPATION_MODES,
                                RESULT_TYPES, SUPERVISION_METHODS, parse_achievement)
from issuer.errors import AchievementError
from issuer.roster import OPTIONAL_COLUMNS, REQUIRED_COLUMNS
from issuer.service import admin_forms as forms
from issuer.service import api
from issuer.service.auth import (AdminDep, AdminSession, authenticate_admin, csrf_token, current_admin, login, logout,
                                 require_csrf)
from issuer.service.batch_view import STATE_TEXT, STATUS_WORDS, credential_status, ladder, progress_text, refresh_for
from issuer.service.deps import DbDep, SettingsDep
from issuer.service.problems import ProblemError
from issuer.service.roster_upload import MappingError, check_mapping, preview_roster
from issuer.store.models import AchievementRecord, Batch, BatchState, CredentialRecord, RosterUpload, Tenant

__all__ = ["router"]

router = APIRouter(prefix="/admin", include_in_schema=False)
HERE = Path(__file__).parent
CSRF = [Depends(require_csrf)]
PAGE_SIZE = 100  # credentials per batch page
_ROW_RE = re.compile(r"^row (\d+): (.*)$", re.S)


@lru_cache(maxsize=1)
def _templates() -> Jinja2Templates:
    """Built on first use (nothing at import); autoescaping is on for .html."""
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals.update(field_id=forms.field_id, state_text=STATE_TEXT, status_words=STATUS_WORDS,
                                 when=_when, progress_text=progress_text, credential_status=credential_status)
    return templates


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "—"


def render(request: Request, name: str, context: dict[str, Any], status_code: int = 200,
           admin: AdminSession | None = None) -> HTMLResponse:
    response = _templates().TemplateResponse(request, name, {"admin": admin, "csrf": csrf_token(request), **context},
                                             status_code=status_code)
    response.headers["Cache-Control"] = "no-store"  # pages show learners' data: never kept by a shared cache
    return response


def not_found(request: Request, admin: AdminSession, what: str) -> HTMLResponse:
    """The same page whether the object does not exist or belongs to another tenant."""
    return render(request, "error.html", {"heading": "Not found", "message": f"There is no {what} here for "
                                                                             f"{admin.tenant.name}."}, 404, admin)


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _owned(db: Session, model: Any, ident: str, tenant_id: int) -> Any:
    return db.scalar(select(model).where(model.id == ident, model.tenant_id == tenant_id))


# ── login ───────────────────────────────────────────────────────────────────────────────────────────────────

def _safe_next(value: Any) -> str:
    """Only a path of these pages: never another site (an open redirect) or a scheme-relative //host."""
    if isinstance(value, str) and value.startswith("/admin") and not urlsplit(value).netloc and "\\" not in value:
        return value
    return "/admin"


@router.get("/login")
def login_page(request: Request, db: DbDep, settings: SettingsDep, next: str = "/admin") -> Response:
    if current_admin(request, db) is not None:
        return see_other(_safe_next(next))
    values = {"tenant": settings.bootstrap_tenant or ""}
    return render(request, "login.html", {"values": values, "next": _safe_next(next)})


@router.post("/login", dependencies=CSRF)
async def login_submit(request: Request, db: DbDep) -> Response:
    form = await request.form()
    values = {k: str(form.get(k, ""))[:200].strip() for k in ("tenant", "username")}
    password = str(form.get("password", ""))
    throttle = request.app.state.login_throttle
    account, client = (values["tenant"], values["username"]), request.client.host if request.client else "?"
    wait = throttle.retry_after(account, client)
    if wait is not None:
        response = render(request, "login.html", {"values": values, "next": _safe_next(form.get("next")),
                                                  "error": f"too many failed logins; try again in {wait} seconds."}, 429)
        response.headers["Retry-After"] = str(wait)
        return response
    user = await run_in_threadpool(authenticate_admin, db, tenant_slug=values["tenant"], username=values["username"],
                                   password=password)  # scrypt: kept off the event loop
    if user is None:
        throttle.failed(account, client)
        return render(request, "login.html", {"values": values, "next": _safe_next(form.get("next")),
                                              "error": "the issuer, username or password is wrong."}, 401)
    throttle.succeeded(account)
    login(request, user, db.get(Tenant, user.tenant_id))
    return see_other(_safe_next(form.get("next")))


@router.post("/logout", dependencies=CSRF)
def logout_submit(request: Request) -> Response:
    logout(request)
    return see_other("/admin/login")


# ── dashboard ───────────────────────────────────────────────────────────────────────────────────────────────

def _reloading(running: int | None, reload: str) -> dict[str, Any]:
    """The page reloads itself while a batch runs, unless the reader turned that off (WCAG 2.2.1: a time limit the
    user can turn off); the page says which, with a link to switch."""
    off = reload == "off"
    return {"running": running is not None, "refresh": None if off else running, "reload_off": off}


@router.get("")
def dashboard(request: Request, admin: AdminDep, db: DbDep, settings: SettingsDep, reload: str = "on") -> Response:
    where = Batch.tenant_id == admin.tenant_id
    batches = list(db.scalars(select(Batch).where(where).order_by(Batch.created_at.desc(), Batch.id).limit(50)))
    total = db.scalar(select(func.count()).select_from(Batch).where(where)) or 0
    achievements = list(db.scalars(select(AchievementRecord).where(AchievementRecord.tenant_id == admin.tenant_id)
                                   .order_by(AchievementRecord.created_at.desc()).limit(200)))
    titles = {a.id: a.title for a in achievements}
    missing = {b.achievement_id for b in batches if b.achievement_id and b.achievement_id not in titles}
    if missing:
        titles.update(db.execute(select(AchievementRecord.id, AchievementRecord.title)
                                 .where(AchievementRecord.id.in_(missing))).tuples())
    refresh = min((r for b in batches if (r := refresh_for(b)) is not None), default=None)
    return render(request, "dashboard.html", {
        "batches": batches, "more_batches": total if total > len(batches) else 0, "achievements": achievements,
        "titles": titles, "confirmations": settings.confirmations, **_reloading(refresh, reload)}, admin=admin)


# ── achievements ────────────────────────────────────────────────────────────────────────────────────────────

def _form_context(values: dict[str, str], errors: dict[str, list[str]], general: list[str], *,
                  more: bool = False) -> dict[str, Any]:
    def options(keys) -> list[tuple[str, str]]:
        return [(k, k.replace("-", " ")) for k in keys]

    return {
        "values": values, "errors": errors, "general": general,
        "problem_count": sum(map(len, errors.values())) + len(general),
        "outcome_rows": forms.outcome_rows(values, more=more),
        "programme_rows": forms.programme_rows(values, more=more),
        "max_outcomes": forms.MAX_OUTCOMES,
        "eqf_options": [(str(n), f"EQF level {n}") for n in range(1, 9)],
        "participation_options": options(PARTICIPATION_MODES), "assessment_options": options(ASSESSMENT_TYPES),
        "assessment_mode_options": options(ASSESSMENT_MODES), "supervision_options": options(SUPERVISION_METHODS),
        "qa_options": options(ACCREDITATION_TYPES), "result_type_options": [(t, t) for t in RESULT_TYPES],
    }


def _form_fields(values: dict[str, str]) -> set[str]:
    """Every field the form shows for these values (the names problems are matched against)."""
    names = set(forms.TEXT_FIELDS) | set(forms.NUMBER_FIELDS) | {"grading.allowed_grades",
                                                                  "stackability.partial_qualification"}
    names |= {f"learning_outcomes[{i}].{k}" for i in range(forms.outcome_rows(values)) for k in forms.OUTCOME_KEYS}
    names |= {f"stackability.programmes[{i}].{k}" for i in range(forms.programme_rows(values))
              for k in forms.PROGRAMME_KEYS}
    return names


@router.get("/achievements/new")
def achievement_form(request: Request, admin: AdminDep) -> Response:
    profile = admin.tenant.profile or {}
    values = {"language": "en", "grading.default_grade": "Pass", "awarding_body.name": admin.tenant.name,
              **{f"awarding_body.{k}": str(v) for k, v in profile.items()
                 if k in ("name", "url", "country_code", "region", "locality", "email") and v}}
    return render(request, "achievement_form.html", _form_context(values, {}, []), admin=admin)


@router.post("/achievements/new", dependencies=CSRF)
async def achievement_submit(request: Request, admin: AdminDep, db: DbDep) -> Response:
    form = await request.form()
    values = {k: v[:forms.MAX_FIELD_CHARS] for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    if form.get("action") == "more":  # more outcome and programme rows; nothing is checked yet
        return render(request, "achievement_form.html", _form_context(values, {}, [], more=True), admin=admin)
    spec = forms.form_to_spec(values)
    try:
        created = api.create_achievement(spec, admin, db)
    except AchievementError as exc:
        errors, general = forms.problems_by_field(exc.problems, _form_fields(values))
        return render(request, "achievement_form.html", _form_context(values, errors, general), 422, admin)
    except ProblemError as exc:
        errors, general = forms.problems_by_field([f"{e.field}: {e.detail}" for e in exc.errors] or [exc.detail],
                                                  _form_fields(values))
        return render(request, "achievement_form.html", _form_context(values, errors, general), exc.status, admin)
    return see_other(f"/admin/achievements/{created.id}")


def _achievement_page(request: Request, admin: AdminSession, db: Session, settings: Any, record: AchievementRecord,
                      upload_error: str | None = None, status: int = 200) -> HTMLResponse:
    rosters = db.scalars(select(RosterUpload).where(RosterUpload.achievement_id == record.id,
                                                    RosterUpload.tenant_id == admin.tenant_id)
                         .order_by(RosterUpload.created_at.desc()).limit(50))
    return render(request, "achievement.html", {
        "record": record, "a": parse_achievement(record.spec), "rosters": list(rosters), "upload_error": upload_error,
        "required_columns": REQUIRED_COLUMNS, "optional_columns": OPTIONAL_COLUMNS, "max_rows": settings.max_rows,
        "max_csv_kib": settings.max_csv_bytes // 1024}, status, admin)


@router.get("/achievements/{achievement_id}")
def achievement_page(achievement_id: str, request: Request, admin: AdminDep, db: DbDep,
                     settings: SettingsDep) -> Response:
    record = _owned(db, AchievementRecord, achievement_id, admin.tenant_id)
    if record is None:
        return not_found(request, admin, "achievement")
    return _achievement_page(request, admin, db, settings, record)


def _header(text: str) -> list[str]:
    try:
        return next(csv.reader(io.StringIO(text, newline="")), [])
    except csv.Error:
        return []


@router.post("/achievements/{achievement_id}/rosters", dependencies=CSRF)
async def roster_upload(achievement_id: str, request: Request, admin: AdminDep, db: DbDep,
                        settings: SettingsDep) -> Response:
    """Guess the column mapping from the header, then store and check the roster exactly as the API does."""
    record = _owned(db, AchievementRecord, achievement_id, admin.tenant_id)
    if record is None:
        return not_found(request, admin, "achievement")
    upload = (await request.form()).get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _achievement_page(request, admin, db, settings, record, "choose a roster CSV file to upload.", 422)
    # The header, for the guess only, from the first 64 KiB (a character cut at the end is dropped); the upload itself
    # is then read and checked (UTF-8, size, rows) by the API's function.
    head = (await upload.read(64 * 1024)).decode("utf-8-sig", errors="ignore")
    await upload.seek(0)
    mapping = forms.guess_mapping(_header(head))
    try:
        created = await api.upload_roster(record.id, admin, db, settings, upload, json.dumps(mapping))
    except ProblemError as exc:
        return _achievement_page(request, admin, db, settings, record, exc.detail, exc.status)
    return see_other(f"/admin/rosters/{created.id}")


# ── rosters ─────────────────────────────────────────────────────────────────────────────────────────────────

def _row_numbers(text: str, limit: int) -> list[int]:
    """The spreadsheet row numbers of the first learner rows (header = row 1; blank rows skipped, as the preview)."""
    numbers = []
    try:
        for n, rec in enumerate(csv.reader(io.StringIO(text, newline=""), strict=True), start=1):
            if n > 1 and any(c.strip() for c in rec):
                numbers.append(n)
                if len(numbers) == limit:
                    break
    except csv.Error:
        pass
    return numbers


def _roster_page(request: Request, admin: AdminSession, db: Session, settings: Any, roster: RosterUpload, *,
                 error: str | None = None, mapping_errors: dict[str, list[str]] | None = None,
                 status: int = 200) -> HTMLResponse:
    record = db.get(AchievementRecord, roster.achievement_id)
    header = [c.strip() for c in _header(roster.csv_text) if c.strip()]
    selected = {ours: roster.mapping.get(ours) or next((c for c in header if c.lower() == ours), "")
                for ours in forms.OUR_COLUMNS}
    try:
        preview = preview_roster(roster.csv_text, roster.mapping, parse_achievement(record.spec),
                                 max_rows=settings.max_rows)
    except MappingError as exc:
        preview, error = None, error or str(exc)
    row_problems: dict[int, list[str]] = {}
    for problem in roster.problems:
        if m := _ROW_RE.match(problem):
            row_problems.setdefault(int(m.group(1)), []).append(m.group(2))
    rows = preview.preview if preview else []
    return render(request, "roster.html", {
        "roster": roster, "record": record, "header": header, "selected": selected, "error": error,
        "mapping_errors": mapping_errors or {}, "our_columns": forms.OUR_COLUMNS, "required_columns": REQUIRED_COLUMNS,
        "preview": rows, "columns": preview.columns if preview else [], "row_problems": row_problems,
        "row_numbers": _row_numbers(roster.csv_text, len(rows))}, status, admin)


@router.get("/rosters/{roster_id}")
def roster_page(roster_id: str, request: Request, admin: AdminDep, db: DbDep, settings: SettingsDep) -> Response:
    roster = _owned(db, RosterUpload, roster_id, admin.tenant_id)
    if roster is None:
        return not_found(request, admin, "roster")
    return _roster_page(request, admin, db, settings, roster)


@router.post("/rosters/{roster_id}/mapping", dependencies=CSRF)
async def roster_mapping(roster_id: str, request: Request, admin: AdminDep, db: DbDep,
                         settings: SettingsDep) -> Response:
    roster = _owned(db, RosterUpload, roster_id, admin.tenant_id)
    if roster is None:
        return not_found(request, admin, "roster")
    if roster.batch_id is not None:
        return _roster_page(request, admin, db, settings, roster, error="this roster has been issued; its columns "
                                                                        "can no longer change.", status=409)
    form = await request.form()
    chosen = {ours: str(form.get(f"map.{ours}", "")).strip() for ours in forms.OUR_COLUMNS}
    mapping = {ours: cell for ours, cell in chosen.items() if cell and cell.lower() != ours}
    record = db.get(AchievementRecord, roster.achievement_id)
    try:
        mapping = check_mapping(mapping)
        preview = await run_in_threadpool(preview_roster, roster.csv_text, mapping, parse_achievement(record.spec),
                                          max_rows=settings.max_rows)
    except MappingError as exc:
        by_column: dict[str, list[str]] = {}
        for e in exc.errors:
            by_column.setdefault(e.field.removeprefix("mapping."), []).append(e.detail)
        return _roster_page(request, admin, db, settings, roster, error=str(exc), mapping_errors=by_column,
                            status=422)
    roster.mapping, roster.problems, roster.row_count = mapping, preview.problems, preview.rows
    db.commit()
    return see_other(f"/admin/rosters/{roster.id}")


@router.post("/rosters/{roster_id}/issue", dependencies=CSRF)
async def roster_issue(roster_id: str, request: Request, admin: AdminDep, db: DbDep,
                       settings: SettingsDep) -> Response:
    roster = _owned(db, RosterUpload, roster_id, admin.tenant_id)
    if roster is None:
        return not_found(request, admin, "roster")
    try:
        issued = await run_in_threadpool(api.issue_roster, roster.id, admin, db, settings)
    except ProblemError as exc:
        db.rollback()
        return _roster_page(request, admin, db, settings, roster, error=exc.detail, status=exc.status)
    return see_other(f"/admin/batches/{issued.batch.id}")


# ── batches ─────────────────────────────────────────────────────────────────────────────────────────────────

@router.get("/batches/{batch_id}")
def batch_page(batch_id: str, request: Request, admin: AdminDep, db: DbDep, settings: SettingsDep,
               offset: int = 0, reload: str = "on") -> Response:
    batch = _owned(db, Batch, batch_id, admin.tenant_id)
    if batch is None:
        return not_found(request, admin, "batch")
    offset = max(0, min(offset, max(batch.total - 1, 0)))
    credentials = list(db.scalars(select(CredentialRecord).where(CredentialRecord.batch_id == batch.id,
                                                                 CredentialRecord.tenant_id == admin.tenant_id)
                                  .order_by(CredentialRecord.position).offset(offset).limit(PAGE_SIZE)))
    record = db.get(AchievementRecord, batch.achievement_id) if batch.achievement_id else None
    steps, summary = ladder(batch, settings.confirmations)
    return render(request, "batch.html", {
        "batch": batch, "record": record, "steps": steps, "summary": summary, "credentials": credentials,
        "delivered": batch.state is BatchState.DELIVERED, **_reloading(refresh_for(batch), reload), "offset": offset,
        "page_size": PAGE_SIZE, "pages": -(-batch.total // PAGE_SIZE),
        "share_link": lambda token: share.share_link(settings.verifier_url, settings.public_url, token)}, admin=admin)


@router.get("/batches/{batch_id}/credentials/{position}.json")
def credential_download(batch_id: str, position: int, request: Request, admin: AdminDep, db: DbDep) -> Response:
    from issuer.store import engine as store
    from issuer.store.errors import CredentialPendingError

    credential = None
    if 0 <= position <= 2**31 - 1:  # beyond an integer column, the database refuses the query (a 500)
        credential = db.scalar(select(CredentialRecord).where(CredentialRecord.batch_id == batch_id,
                                                              CredentialRecord.position == position,
                                                              CredentialRecord.tenant_id == admin.tenant_id))
    if credential is None:
        return not_found(request, admin, "credential")
    try:
        document = store.latest_document(credential)
    except CredentialPendingError:
        return render(request, "error.html", {"heading": "Not signed yet", "message": "This credential's batch has "
                                              "not been signed yet; try again in a moment."}, 409, admin)
    return Response(json.dumps(document, ensure_ascii=False, indent=2), media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="credential-{position + 1}.json"',
                             "Cache-Control": "no-store"})
