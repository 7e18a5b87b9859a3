"""The issuer API: achievements, rosters, batches, API keys, the tenants' DID documents and health (JSON).

Every route that reads or writes a tenant's objects takes the tenant from the API key (``auth.py``) and filters every
query on it: another tenant's object is a 404, exactly like one that does not exist. Write routes name their scope.
The VC-API (``POST /credentials/issue``) and the public share links are in ``vcapi.py``.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, File, Form, Path, Query, Request, Response, UploadFile
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from issuer import share
from issuer.achievement import Achievement, parse_achievement
from issuer.service import schemas as s
from issuer.service.auth import AdminKeyDep, IssueDep, KeyDep, create_api_key, revoke_api_key
from issuer.service.deps import BoxDep, DbDep, LedgerDep, SettingsDep
from issuer.service.problems import FieldError, ProblemError, not_found, responses
from issuer.service.roster_upload import MappingError, check_mapping, decode_csv, learners_of, preview_roster
from issuer.store import engine as store
from issuer.store.models import AchievementRecord, ApiKey, Batch, BatchState, CredentialRecord, RosterUpload, Tenant
from issuer.store.tenants import SLUG_RE, did_document, get_tenant

router = APIRouter()
public_router = APIRouter()

AUTH = (401, 403)
Limit = Annotated[int, Query(ge=1, le=200, description="items per page")]
Offset = Annotated[int, Query(ge=0, le=1_000_000, description="items to skip")]
Row = TypeVar("Row")


# ── public: health and DID documents ────────────────────────────────────────────────────────────────────────

@public_router.get("/health", response_model=s.HealthOut, tags=["service"], summary="Liveness and readiness",
                   responses=responses(503))
def health(request: Request, db: DbDep) -> s.HealthOut:
    try:
        db.execute(text("SELECT 1"))
    except Exception as exc:  # the database is the service's one dependency that can be down
        raise ProblemError(503, "database-unavailable", "Database unavailable",
                           f"the database does not answer ({type(exc).__name__})") from exc
    ledger = getattr(request.app.state, "ledger", None)
    runner = getattr(request.app.state, "runner", None)
    return s.HealthOut(status="ok", time=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), database="ok",
                       chain_id=getattr(ledger, "chain_id", None), worker=runner is not None)


@public_router.get("/tenants/{slug}/did.json", tags=["DID"], summary="A tenant's did:web document",
                   response_model=dict[str, Any], responses=responses(404))
def tenant_did_document(slug: Annotated[str, Path(max_length=64, pattern=SLUG_RE.pattern)], db: DbDep, box: BoxDep, ledger: LedgerDep) -> Response:
    """The did:web document of ``did:web:<host>:tenants:<slug>``: its Ed25519 signing key and, per chain, its
    anchoring key with ``blockchainAccountId``."""
    tenant = get_tenant(db, slug)
    if tenant is None:
        raise ProblemError(404, "not-found", "Not found", f"no tenant {slug!r}")
    doc = did_document(tenant, box, [ledger.chain_id])
    return Response(json.dumps(doc, ensure_ascii=False), media_type="application/json",
                    headers={"Access-Control-Allow-Origin": "*", "Cache-Control": "max-age=300"})


# ── achievements ────────────────────────────────────────────────────────────────────────────────────────────

def owned(db: Session, model: type[Row], tenant_id: int, row_id: str | int, what: str) -> Row:
    """The tenant's row ``row_id`` of ``model`` (a table with ``id`` and ``tenant_id``); another tenant's row is
    "not found" like a missing one, so ids of other tenants are never confirmed."""
    row = db.scalar(select(model).where(model.id == row_id, model.tenant_id == tenant_id))
    if row is None:
        raise not_found(what, str(row_id))
    return row


def owned_achievement(db: Session, tenant_id: int, achievement_id: str) -> AchievementRecord:
    return owned(db, AchievementRecord, tenant_id, achievement_id, "achievement")


def achievement_of(record: AchievementRecord) -> Achievement:
    return parse_achievement(record.spec)


def complete_spec(spec: dict[str, Any], tenant: Tenant) -> dict[str, Any]:
    """The spec with the tenant's defaults: the awarding body's DID is the tenant's (a different one is refused),
    and an absent awarding body is the tenant's name and profile."""
    spec = dict(spec)
    if spec.get("awarding_body") is None and tenant.profile:
        spec["awarding_body"] = {"name": tenant.name, **tenant.profile}
    body = spec.get("awarding_body")
    if isinstance(body, dict):
        body = dict(body)
        if body.get("did") is None:
            body["did"] = tenant.did
        elif body["did"] != tenant.did:
            raise ProblemError(422, "invalid-achievement", "Invalid achievement",
                               f"awarding_body.did must be this tenant's DID {tenant.did} (or be omitted)",
                               errors=(FieldError("awarding_body.did", f"expected {tenant.did}, got {body['did']!r}"),))
        spec["awarding_body"] = body
    return spec


@router.post("/achievements", status_code=201, response_model=s.AchievementOut, tags=["achievements"],
             summary="Define an achievement (scope admin)", responses=responses(400, *AUTH, 413, 422))
def create_achievement(spec: dict[str, Any], principal: AdminKeyDep, db: DbDep) -> s.AchievementOut:
    """The body is the achievement in the structure of the CLI's achievement YAML (examples/achievement.yaml as
    JSON). Every EU element is validated; a 422 lists every problem with its path."""
    spec = complete_spec(spec, principal.tenant)
    achievement = parse_achievement(spec)  # AchievementError -> 422 listing each path
    record = AchievementRecord(id=str(uuid.uuid4()), tenant_id=principal.tenant_id,
                               title=achievement.text(achievement.title)[:500], spec=spec)
    db.add(record)
    db.commit()
    return s.AchievementOut.of(record)


@router.get("/achievements", response_model=s.AchievementList, tags=["achievements"], summary="List achievements",
            responses=responses(*AUTH, 422))
def list_achievements(principal: KeyDep, db: DbDep, limit: Limit = 50, offset: Offset = 0) -> s.AchievementList:
    where = AchievementRecord.tenant_id == principal.tenant_id
    rows = db.scalars(select(AchievementRecord).where(where)
                      .order_by(AchievementRecord.created_at.desc(), AchievementRecord.id).limit(limit).offset(offset))
    total = db.scalar(select(func.count()).select_from(AchievementRecord).where(where)) or 0
    return s.AchievementList(items=[s.AchievementOut.of(a) for a in rows], total=total)


@router.get("/achievements/{achievement_id}", response_model=s.AchievementOut, tags=["achievements"],
            summary="One achievement", responses=responses(*AUTH, 404))
def get_achievement(achievement_id: str, principal: KeyDep, db: DbDep) -> s.AchievementOut:
    return s.AchievementOut.of(owned_achievement(db, principal.tenant_id, achievement_id))


# ── rosters ─────────────────────────────────────────────────────────────────────────────────────────────────

def roster_out(r: RosterUpload, preview=None) -> s.RosterOut:
    return s.RosterOut(id=r.id, achievement_id=r.achievement_id, filename=r.filename,
                       columns=preview.columns if preview else [], mapping=r.mapping, rows=r.row_count,
                       preview=preview.preview if preview else [], problems=r.problems, batch=r.batch_id,
                       created_at=r.created_at.isoformat() if r.created_at else None)


def owned_roster(db: Session, tenant_id: int, roster_id: str) -> RosterUpload:
    return owned(db, RosterUpload, tenant_id, roster_id, "roster")


def _parse_mapping(raw: str | None) -> dict[str, str]:
    if raw is None or not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise MappingError([FieldError("mapping", f"not JSON: {exc}")]) from None
    return check_mapping(value)


def _mapping_problem(exc: MappingError) -> ProblemError:
    return ProblemError(422, "invalid-roster-upload", "Invalid roster upload", str(exc), errors=exc.errors)


async def read_upload(file: UploadFile, limit: int) -> bytes:
    """The uploaded file, refused (413) beyond ``limit`` bytes without reading more than one chunk past it."""
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise ProblemError(413, "content-too-large", "Content too large",
                           f"the roster file may hold at most {limit} bytes")
    return data


@router.post("/achievements/{achievement_id}/rosters", status_code=201, response_model=s.RosterOut,
             tags=["rosters"], summary="Upload a roster CSV (scope issue)", responses=responses(*AUTH, 404, 413, 422))
async def upload_roster(
    achievement_id: str, principal: IssueDep, db: DbDep, settings: SettingsDep,
    file: Annotated[UploadFile, File(description="the roster, CSV UTF-8 with a header row")],
    mapping: Annotated[str | None, Form(description='JSON object, our column -> your column, e.g. '
                                                     '{"given_name": "Vorname"}')] = None,
) -> s.RosterOut:
    """Validates every row (nothing is signed): the answer lists the columns, the first rows and every problem
    ("row 3: ..."). A roster with problems is kept so it can be looked at, but only one without any is issued."""
    raw = await read_upload(file, settings.max_csv_bytes)
    # Parsing and validating up to max_rows rows, and the database, are blocking work: off the event loop.
    return await run_in_threadpool(store_roster, db, principal.tenant_id, achievement_id, raw, mapping,
                                   file.filename or "roster.csv", settings.max_rows)


def store_roster(db: Session, tenant_id: int, achievement_id: str, raw: bytes, mapping: str | None, filename: str,
                 max_rows: int) -> s.RosterOut:
    record = owned_achievement(db, tenant_id, achievement_id)
    try:
        csv_text = decode_csv(raw)
        our_mapping = _parse_mapping(mapping)
        preview = preview_roster(csv_text, our_mapping, achievement_of(record), max_rows=max_rows)
    except MappingError as exc:
        raise _mapping_problem(exc) from None
    roster = RosterUpload(id=str(uuid.uuid4()), tenant_id=tenant_id, achievement_id=record.id,
                          filename=filename[:300], csv_text=csv_text, mapping=our_mapping,
                          row_count=preview.rows, problems=preview.problems)
    db.add(roster)
    db.commit()
    return roster_out(roster, preview)


def _preview_of(db: Session, roster: RosterUpload, settings) -> Any:
    record = db.get(AchievementRecord, roster.achievement_id)
    try:
        return preview_roster(roster.csv_text, roster.mapping, achievement_of(record), max_rows=settings.max_rows)
    except MappingError:
        return None


@router.get("/rosters/{roster_id}", response_model=s.RosterOut, tags=["rosters"], summary="One roster upload",
            responses=responses(*AUTH, 404))
def get_roster(roster_id: str, principal: KeyDep, db: DbDep, settings: SettingsDep) -> s.RosterOut:
    roster = owned_roster(db, principal.tenant_id, roster_id)
    return roster_out(roster, _preview_of(db, roster, settings))


@router.post("/rosters/{roster_id}/issue", status_code=202, response_model=s.RosterIssued, tags=["rosters"],
             summary="Issue a roster as a batch (scope issue)", responses=responses(*AUTH, 404, 409))
def issue_roster(roster_id: str, principal: IssueDep, db: DbDep, settings: SettingsDep) -> s.RosterIssued:
    """Creates the batch (202): the batch runner signs, builds the tree, anchors and delivers it; follow it with
    ``GET /batches/{id}``. Each credential carries revocation and suspension entries in the tenant's status lists.
    Refused (409) while the roster has problems, and once it has been issued."""
    roster = owned_roster(db, principal.tenant_id, roster_id)
    if roster.problems:
        raise ProblemError(409, "roster-has-problems", "Roster has problems",
                           f"the roster has {len(roster.problems)} problem(s); upload a corrected roster: "
                           + "; ".join(roster.problems[:5]) + (" …" if len(roster.problems) > 5 else ""))
    if roster.batch_id is not None:
        raise ProblemError(409, "already-issued", "Already issued", f"the roster was issued as batch {roster.batch_id}")
    record = db.get(AchievementRecord, roster.achievement_id)
    learners = learners_of(roster.csv_text, roster.mapping, achievement_of(record))
    batch = store.create_roster_batch(db, principal.tenant, record, learners, public_url=settings.public_url)
    db.flush()
    # Conditional on "not issued yet": of two concurrent requests, one wins; the other's batch is rolled back.
    won = db.execute(update(RosterUpload).where(RosterUpload.id == roster.id, RosterUpload.batch_id.is_(None))
                     .values(batch_id=batch.id).execution_options(synchronize_session=False)).rowcount
    if won != 1:
        db.rollback()
        raise ProblemError(409, "already-issued", "Already issued", "the roster was issued by another request")
    db.commit()
    return s.RosterIssued(batch=s.BatchOut.of(batch))


# ── batches ─────────────────────────────────────────────────────────────────────────────────────────────────

def owned_batch(db: Session, tenant_id: int, batch_id: str) -> Batch:
    return owned(db, Batch, tenant_id, batch_id, "batch")


@router.get("/batches", response_model=s.BatchList, tags=["batches"], summary="List batches",
            responses=responses(*AUTH, 422))
def list_batches(principal: KeyDep, db: DbDep, limit: Limit = 50, offset: Offset = 0,
                 state: Annotated[BatchState | None, Query(description="only batches in this state")] = None,
                 ) -> s.BatchList:
    where = [Batch.tenant_id == principal.tenant_id] + ([Batch.state == state] if state is not None else [])
    rows = db.scalars(select(Batch).where(*where).order_by(Batch.created_at.desc(), Batch.id)
                      .limit(limit).offset(offset))
    total = db.scalar(select(func.count()).select_from(Batch).where(*where)) or 0
    return s.BatchList(items=[s.BatchOut.of(b) for b in rows], total=total)


@router.get("/batches/{batch_id}", response_model=s.BatchOut, tags=["batches"], summary="One batch and its progress",
            responses=responses(*AUTH, 404))
def get_batch(batch_id: str, principal: KeyDep, db: DbDep) -> s.BatchOut:
    return s.BatchOut.of(owned_batch(db, principal.tenant_id, batch_id))


def share_links(settings, token: str) -> tuple[str, str]:
    """(the credential's public URL, the verifier page opened on it): one construction, in issuer.share."""
    return share.share_url(settings.public_url, token), share.share_link(settings.verifier_url, settings.public_url, token)


@router.get("/batches/{batch_id}/credentials", response_model=s.CredentialList, tags=["batches"],
            summary="The credentials of a batch", responses=responses(*AUTH, 404, 422))
def batch_credentials(batch_id: str, principal: KeyDep, db: DbDep, settings: SettingsDep, limit: Limit = 50,
                      offset: Offset = 0) -> s.CredentialList:
    batch = owned_batch(db, principal.tenant_id, batch_id)
    rows = db.scalars(select(CredentialRecord).where(CredentialRecord.batch_id == batch.id,
                                                     CredentialRecord.tenant_id == principal.tenant_id)
                      .order_by(CredentialRecord.position).limit(limit).offset(offset))
    anchored = batch.state is BatchState.DELIVERED
    items = [s.CredentialOut.of(c, anchored=anchored, **dict(zip(("share_url", "verify_url"),
                                                                  share_links(settings, c.share_token))))
             for c in rows]
    return s.CredentialList(items=items, total=batch.total or len(items))


# ── API keys ────────────────────────────────────────────────────────────────────────────────────────────────

@router.post("/keys", status_code=201, response_model=s.KeyCreated, tags=["keys"],
             summary="Create an API key (scope admin)", responses=responses(400, *AUTH, 413, 422))
def create_key(body: s.KeyCreate, principal: AdminKeyDep, db: DbDep) -> s.KeyCreated:
    """The key is in this answer only: it is stored as a hash and cannot be shown again."""
    key, plaintext = create_api_key(db, principal.tenant, name=body.name, scopes=body.scopes)
    db.commit()
    return s.KeyCreated(**s.KeyOut.of(key).model_dump(), key=plaintext)


@router.get("/keys", response_model=s.KeyList, tags=["keys"], summary="List API keys (scope admin)",
            responses=responses(*AUTH))
def list_keys(principal: AdminKeyDep, db: DbDep) -> s.KeyList:
    rows = db.scalars(select(ApiKey).where(ApiKey.tenant_id == principal.tenant_id).order_by(ApiKey.id))
    return s.KeyList(items=[s.KeyOut.of(k) for k in rows])


@router.post("/keys/{key_id}/revoke", response_model=s.KeyOut, tags=["keys"], summary="Revoke an API key (scope admin)",
             responses=responses(*AUTH, 404, 422))
def revoke_key(key_id: Annotated[int, Path(ge=1, le=2**31 - 1)], principal: AdminKeyDep, db: DbDep) -> s.KeyOut:
    key = owned(db, ApiKey, principal.tenant_id, key_id, "API key")
    revoke_api_key(key)
    db.commit()
    return s.KeyOut.of(key)
