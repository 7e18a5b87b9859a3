"""The caller's tenant's key history: list, rotate, revoke (scope ``admin``), each change recorded on the ledger.

- ``GET /key-history``: every key (role, number, public key or address, created / retired / revoked, reason) and
  every key event with its transaction;
- ``POST /key-history/{role}/rotate`` with ``{"reason"}``: a new current key of ``role`` (signing or anchoring);
- ``POST /key-history/{role}/revoke`` with ``{"reason", "number"?}``: a key compromised (default the current one,
  replaced at once);
- ``POST /key-history/record``: sends the events a change could not record (ledger down, a timeout).

A change answers 200 once its events are recorded on the ledger, 202 when they are stored but not all recorded yet
(the body says which; ``record`` finishes), 409 when it cannot be made now (events still unrecorded, transactions of
the anchoring address in flight). The DID document (``/tenants/{slug}/did.json``) shows the new history at once.
Key changes and their sending run in a worker thread: they wait on the ledger.
"""

from __future__ import annotations

import logging
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from issuer.errors import IssuerError, OptionError
from issuer.ledger.errors import IssuerLedgerError
from issuer.service.auth import AdminKeyDep
from issuer.service.deps import BoxDep, DbDep, LedgerDep, SettingsDep
from issuer.service.problems import ProblemError, responses
from issuer.store.keyevents import (MAX_REASON, KeyChangeRefused, change_tenant_keys, describe, key_history,
                                    record_tenant_key_events)
from issuer.store.models import KeyEventState, Tenant
from issuer.store.tenants import identity_of
from verifier.ledger.base import KEY_EVENT_KINDS

__all__ = ["router"]

log = logging.getLogger("anchorcred.issuer.keys")
router = APIRouter(tags=["key history"])
AUTH = (401, 403)
ACCEPTED = {202: {"model": None, "description": "the change is stored, its ledger events not all recorded yet "
                                              "(the body says which; POST /key-history/record finishes)"}}
CHANGE_ANSWERS = {**responses(409, 422, *AUTH), **ACCEPTED}
RECORD_TIMEOUT = 120.0  # seconds a request waits for its key events to be mined; then 202, ``record`` finishes
Role = Annotated[Literal["signing", "anchoring"], Path(description="which key: signing (Ed25519) or anchoring")]


class ChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=MAX_REASON, description="why (kept in the issuer's records)")


class RevokeIn(ChangeIn):
    number: int | None = Field(default=None, ge=1, le=1000, description="which key (default: the current one)")


class KeyOut(BaseModel):
    role: str
    number: int
    public_key: str
    address: str | None
    created: str | None
    retired: str | None
    revoked: str | None
    reason: str | None
    current: bool


class KeyEventOut(BaseModel):
    id: int
    event: str
    role: str
    number: int
    kind: str
    state: str
    sender: str | None
    chain_id: int | None
    transaction: str | None
    block: int | None
    time: str | None
    error: str | None


class KeyHistoryOut(BaseModel):
    did: str
    keys: list[KeyOut]
    events: list[KeyEventOut]
    failed_batches: list[str] = Field(default_factory=list, description="batches a signing key revocation failed")


def _iso(moment) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment is not None else None


def _tenant_of(principal, db) -> int:
    """The caller's tenant id, with the request's own transaction ended: the change and its recording run in their
    own short transactions (SQLite admits one writer at a time, and an open request session would hold it)."""
    tenant_id = principal.tenant_id
    db.rollback()
    return tenant_id


def _history(request: Request, tenant_id: int, failed: list[str] | None = None) -> KeyHistoryOut:
    state = request.app.state
    rows, events = key_history(state.sessionmaker, tenant_id)
    reasons = {(k.role, k.number): k.reason for k in rows}
    with state.sessionmaker() as session:
        identity = identity_of(session.get(Tenant, tenant_id), state.box)
    keys = [KeyOut(role=r.role, number=r.number, public_key=r.public.hex(), address=r.address, created=r.created,
                   retired=r.retired, revoked=r.revoked, reason=reasons.get((r.role, r.number)),
                   current=r == identity.current(r.role)) for r in identity.records()]
    return KeyHistoryOut(
        did=identity.did, keys=keys, failed_batches=failed or [],
        events=[KeyEventOut(id=e.id, event=describe(e), role=e.role, number=e.number,
                            kind=KEY_EVENT_KINDS.get(e.kind, str(e.kind)), state=e.state.value,
                            sender=e.anchoring_address, chain_id=e.chain_id, transaction=e.tx_hash,
                            block=e.block_number, time=_iso(e.block_time), error=e.error) for e in events])


def _record(request: Request, tenant_id: int, settings) -> None:
    """Sends the pending events; a ledger that does not answer leaves them pending (the answer is then 202)."""
    state = request.app.state
    try:
        record_tenant_key_events(state.sessionmaker, state.box, state.ledger, tenant_id,
                                 confirmations=settings.confirmations, timeout=RECORD_TIMEOUT)
    except (IssuerLedgerError, IssuerError) as exc:
        log.warning("tenant %s: key events not all recorded: %s", tenant_id, exc)


def _answer(body: KeyHistoryOut, response: Response) -> KeyHistoryOut:
    unrecorded = [e for e in body.events if e.state in (KeyEventState.PENDING.value, KeyEventState.SENT.value)]
    response.status_code = 202 if unrecorded else 200
    return body


@router.get("/key-history", response_model=KeyHistoryOut, summary="The tenant's keys and key events (scope admin)",
            responses=responses(*AUTH))
def get_key_history(request: Request, principal: AdminKeyDep, db: DbDep) -> KeyHistoryOut:
    return _history(request, _tenant_of(principal, db))


async def _change(request: Request, response: Response, tenant_id: int, settings, *, action: str, role: str,
                  number: int | None, reason: str) -> KeyHistoryOut:
    state = request.app.state

    def work() -> list[str]:
        outcome = change_tenant_keys(state.sessionmaker, state.box, tenant_id, action=action, role=role,
                                     number=number, reason=reason, chain_id=state.ledger.chain_id)
        _record(request, tenant_id, settings)
        return outcome.failed_batches

    try:
        failed = await run_in_threadpool(work)
    except KeyChangeRefused as exc:
        raise ProblemError(409, "key-change-refused", "Key change refused now", str(exc)) from None
    except OptionError as exc:
        raise ProblemError(422, "invalid-key-change", "Invalid key change", str(exc)) from None
    return _answer(_history(request, tenant_id, failed), response)


@router.post("/key-history/{role}/rotate", response_model=KeyHistoryOut, responses=CHANGE_ANSWERS,
             summary="Rotate the current signing or anchoring key (scope admin)")
async def rotate(role: Role, body: ChangeIn, request: Request, response: Response, principal: AdminKeyDep,
                 db: DbDep, settings: SettingsDep, _box: BoxDep, _ledger: LedgerDep) -> KeyHistoryOut:
    """The current key of ``role`` is retired (what it signed or anchored stays valid) and a new one made current;
    the change is recorded on the ledger (new key added, old key retired)."""
    return await _change(request, response, _tenant_of(principal, db), settings, action="rotate", role=role,
                         number=None, reason=body.reason)


@router.post("/key-history/{role}/revoke", response_model=KeyHistoryOut, responses=CHANGE_ANSWERS,
             summary="Revoke a signing or anchoring key, e.g. after a compromise (scope admin)")
async def revoke(role: Role, body: RevokeIn, request: Request, response: Response, principal: AdminKeyDep,
                 db: DbDep, settings: SettingsDep, _box: BoxDep, _ledger: LedgerDep) -> KeyHistoryOut:
    """Credentials anchored after the revocation that rely on the key fail verification; those anchored before stay
    valid. A current key is replaced at once; revoking the signing key fails the batches not yet anchored that it
    signed (their credentials must be issued again)."""
    return await _change(request, response, _tenant_of(principal, db), settings, action="revoke", role=role,
                         number=body.number, reason=body.reason)


@router.post("/key-history/record", response_model=KeyHistoryOut, responses={**responses(*AUTH), **ACCEPTED},
             summary="Record the key events still pending on the ledger (scope admin)")
async def record(request: Request, response: Response, principal: AdminKeyDep, db: DbDep, settings: SettingsDep,
                 _box: BoxDep, _ledger: LedgerDep) -> KeyHistoryOut:
    tenant_id = _tenant_of(principal, db)
    await run_in_threadpool(_record, request, tenant_id, settings)
    return _answer(_history(request, tenant_id), response)
