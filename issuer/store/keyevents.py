"""Rotating and revoking a tenant's keys in the issuer service, and recording each change on the ledger.

``change_tenant_keys`` applies an ``issuer.keyrotation`` update in one database transaction, under the tenant's row
lock: the new keys, the history, and the ledger events to send (``tenant_key_events``, pending). Refused (``KeyChange
Refused``, a 409) while earlier events are unrecorded or, for the anchoring key, while a batch anchor or a status
publication of the tenant is in flight (it would be mined after its address was retired). Revoking the signing key
fails the tenant's batches not yet anchored that hold credentials it signed: anchored after the revocation, they
would never verify; their credentials must be issued again. Changing the signing key has the tenant's published status
lists signed and published again with the new key (a new revision for the status publisher).

``record_tenant_key_events`` sends the pending events one by one, with the batch runner's rules (``issuer.store.
anchoring``): nonce chosen under the tenant's row lock among every transaction stored for the address, the signed
transaction stored before it is broadcast; on resume, mined -> recorded, pending -> wait, unknown -> the same bytes
again, nonce taken by another transaction -> signed anew.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from issuer.errors import IssuerError, OptionError
from issuer.keyrotation import revoke_key, rotate_key
from issuer.keys import ANCHORING, SIGNING, KeyChange
from issuer.ledger.provider import LedgerProvider
from issuer.store.models import (Batch, BatchState, CredentialRecord, KeyEventState, PublicationState, StatusList,
                                 StatusPublication, Tenant, TenantKey, TenantKeyEvent)
from issuer.store.nonces import last_stored_nonce
from issuer.store.secrets import SecretBox
from issuer.store.tenants import apply_key_update, identity_of, retiring_aad
from verifier.ledger.base import KEY_EVENT_KINDS

__all__ = ["ChangeOutcome", "KeyChangeRefused", "KeyEventFailed", "change_tenant_keys", "describe", "key_history",
           "record_tenant_key_events"]

log = logging.getLogger("anchorcred.issuer.keys")

MAX_REASON = 500
UNANCHORED = (BatchState.OPEN, BatchState.SEALED, BatchState.SIGNED, BatchState.TREE_BUILT)
UNRECORDED = (KeyEventState.PENDING, KeyEventState.SENT)
PUBLICATION_UNDER_WAY = (PublicationState.PENDING, PublicationState.SIGNED, PublicationState.SENT)


class KeyChangeRefused(IssuerError):
    """The change cannot be made now (the message says why and what to do)."""


class KeyEventFailed(IssuerError):
    """A key event's transaction was mined but reverted, or could not be recorded in time."""


@dataclass(frozen=True)
class ChangeOutcome:
    events: list[int]  # the tenant_key_events ids to record, in order
    failed_batches: list[str]  # batches failed by a signing key revocation


def _refuse_while_in_flight(s: Session, tenant_id: int, role: str) -> None:
    waiting = s.scalar(select(TenantKeyEvent.id).where(TenantKeyEvent.tenant_id == tenant_id,
                                                       TenantKeyEvent.state.in_(UNRECORDED)).limit(1))
    if waiting is not None:
        raise KeyChangeRefused("earlier key events of this tenant are not yet recorded on the ledger; record them "
                               "first (POST /key-history/record, or python -m issuer.service record-key-events)")
    if role != ANCHORING:
        return
    batches = s.scalars(select(Batch.id).where(Batch.tenant_id == tenant_id, Batch.state == BatchState.ANCHOR_SENT)
                        .limit(5)).all()
    publications = s.scalars(select(StatusPublication.id).where(StatusPublication.tenant_id == tenant_id,
                                                                StatusPublication.state == PublicationState.SENT)
                             .limit(5)).all()
    if batches or publications:
        raise KeyChangeRefused(
            "transactions from the current anchoring address are in flight (batches "
            f"{', '.join(batches) or 'none'}; status publications {', '.join(publications) or 'none'}); try again "
            "once they are confirmed (mined after its retirement, they would no longer count as the issuer's)")


def _fail_unanchored(s: Session, tenant_id: int, method: str) -> list[str]:
    """Fails the tenant's batches not yet anchored that hold a credential signed with ``method``."""
    candidates = s.scalars(select(Batch.id).where(Batch.tenant_id == tenant_id, Batch.state.in_(UNANCHORED))).all()
    failed = []
    for batch_id in candidates:
        documents = s.scalars(select(CredentialRecord.document).where(CredentialRecord.batch_id == batch_id,
                                                                      CredentialRecord.document.is_not(None)))
        if any(isinstance(d.get("proof"), dict) and d["proof"].get("verificationMethod") == method
               for d in documents):
            s.execute(update(Batch).where(Batch.id == batch_id).values(
                state=BatchState.FAILED, stage="failed", lease_owner=None, lease_until=None,
                error=f"signing key {method} was revoked before this batch was anchored: its credentials would not "
                      "verify; issue them again").execution_options(synchronize_session=False))
            failed.append(batch_id)
    return failed


def change_tenant_keys(sessions: sessionmaker[Session], box: SecretBox, tenant_id: int, *, action: str, role: str,
                       number: int | None = None, reason: str, chain_id: int,
                       now: datetime | None = None) -> ChangeOutcome:
    """Rotates (``action`` "rotate") or revokes ("revoke") key ``number`` (default: current) of ``role``."""
    if action not in ("rotate", "revoke"):
        raise ValueError(f"action must be rotate or revoke, got {action!r}")
    if role not in (SIGNING, ANCHORING):
        raise OptionError(f"role must be {SIGNING} or {ANCHORING}, got {role!r}")
    if not isinstance(reason, str) or not reason.strip() or len(reason) > MAX_REASON:
        raise OptionError(f"a reason of 1 to {MAX_REASON} characters is needed (kept in the issuer's records)")
    now = now or datetime.now(timezone.utc)
    with sessions.begin() as s:
        tenant = s.scalar(select(Tenant).where(Tenant.id == tenant_id).with_for_update())
        _refuse_while_in_flight(s, tenant_id, role)
        identity = identity_of(tenant, box)
        if action == "rotate":
            if number is not None and number != identity.current(role).number:
                raise OptionError(f"only the current {role} key ({identity.current(role).number}) can be rotated")
            result = rotate_key(identity, role, now=now)
        else:
            result = revoke_key(identity, role, number, now=now)
        failed: list[str] = []
        if action == "revoke" and role == SIGNING:
            target = number if number is not None else identity.current(SIGNING).number
            failed = _fail_unanchored(s, tenant_id, identity.method_id(identity.record(SIGNING, target)))
        apply_key_update(s, box, tenant, result.identity, result.retiring_secret, reason=reason.strip())
        if role == SIGNING:
            # Published status lists carry the old key's signature, which verifiers no longer take from a current
            # list, and so would a first publication under way (signed already, or about to be): a new revision
            # makes the status publisher sign and publish them again with the new key.
            under_way = select(StatusPublication.list_id).where(StatusPublication.tenant_id == tenant_id,
                                                                StatusPublication.state.in_(PUBLICATION_UNDER_WAY))
            s.execute(update(StatusList).where(StatusList.tenant_id == tenant_id,
                                               (StatusList.published_revision > 0) | StatusList.id.in_(under_way))
                      .values(revision=StatusList.revision + 1).execution_options(synchronize_session=False))
        rows = [TenantKeyEvent(tenant_id=tenant_id, role=c.role, number=c.number, kind=c.kind, sender=c.sender,
                               state=KeyEventState.PENDING, chain_id=chain_id) for c in result.changes]
        s.add_all(rows)
        s.flush()
        return ChangeOutcome([r.id for r in rows], failed)


def _sender_secret(s: Session, box: SecretBox, tenant: Tenant, number: int) -> bytes:
    identity = identity_of(tenant, box)
    if identity.current(ANCHORING).number == number:
        return identity.secp256k1_secret
    row = s.scalar(select(TenantKey).where(TenantKey.tenant_id == tenant.id, TenantKey.role == ANCHORING,
                                           TenantKey.number == number))
    if row is None or row.retiring_secret_enc is None:
        raise KeyEventFailed(f"the secret of anchoring key {number}, which should send this event, is no longer held")
    return box.open(row.retiring_secret_enc, retiring_aad(tenant.did, number))


def record_tenant_key_events(sessions: sessionmaker[Session], box: SecretBox, ledger: LedgerProvider,
                             tenant_id: int, *, confirmations: int = 1, timeout: float = 120.0) -> list[TenantKeyEvent]:
    """Sends the tenant's unrecorded key events in order; returns every event of the tenant (detached)."""
    deadline = time.monotonic() + timeout
    while True:
        with sessions() as s:
            event = s.scalar(select(TenantKeyEvent).where(TenantKeyEvent.tenant_id == tenant_id,
                                                          TenantKeyEvent.state.in_(UNRECORDED))
                             .order_by(TenantKeyEvent.id).limit(1))
            event_id = event.id if event is not None else None
        if event_id is None:
            break
        if time.monotonic() > deadline:
            raise KeyEventFailed(f"key event {event_id} not recorded within {timeout}s (it stays pending; record "
                                 "again later)")
        _step(sessions, box, ledger, tenant_id, event_id, confirmations)
    _drop_retired_secrets(sessions, tenant_id)
    return key_history(sessions, tenant_id)[1]


def _step(sessions, box, ledger: LedgerProvider, tenant_id: int, event_id: int, confirmations: int) -> None:
    with sessions() as s:
        event = s.get(TenantKeyEvent, event_id)
        state, tx_hash, nonce, raw = event.state, event.tx_hash, event.nonce, event.raw_tx
        address = event.anchoring_address
    if state is KeyEventState.PENDING:
        _send(sessions, box, ledger, tenant_id, event_id)
        return
    mined = ledger.receipt(tx_hash)
    if mined is not None:
        if not mined.succeeded:
            with sessions.begin() as s:
                row = s.get(TenantKeyEvent, event_id)
                row.state, row.error = KeyEventState.FAILED, f"transaction {tx_hash} was mined but reverted"
            raise KeyEventFailed(f"key event {event_id}: transaction {tx_hash} was mined but reverted")
        if mined.confirmations >= confirmations:
            with sessions.begin() as s:
                row = s.get(TenantKeyEvent, event_id)
                row.state = KeyEventState.RECORDED
                row.block_number, row.block_time = mined.block_number, mined.block_time
            log.info("tenant %s: key event %s recorded in %s", tenant_id, event_id, tx_hash)
            return
        ledger.wait()
        return
    if ledger.is_pending(tx_hash):
        ledger.wait()
        return
    if ledger.mined_nonce(address) > nonce and ledger.receipt(tx_hash) is None:
        log.warning("tenant %s: key event %s transaction %s is gone (nonce %s used); signing it anew",
                    tenant_id, event_id, tx_hash, nonce)
        _send(sessions, box, ledger, tenant_id, event_id)
        return
    ledger.broadcast(raw)  # unknown to the node: the same bytes again
    ledger.wait()


def _send(sessions, box, ledger: LedgerProvider, tenant_id: int, event_id: int) -> None:
    with sessions() as s:
        event = s.get(TenantKeyEvent, event_id)
        tenant = s.get(Tenant, tenant_id)
        identity = identity_of(tenant, box)
        change = KeyChange(event.role, event.number, event.kind, event.sender)
        secret = _sender_secret(s, box, tenant, event.sender)
        address = identity.record(ANCHORING, event.sender).address
    key_id, kind, detail, _method = identity.key_event(change, ledger.chain_id)
    ledger.ensure_funds(address)
    with sessions.begin() as s:
        s.execute(select(Tenant.id).where(Tenant.id == tenant_id).with_for_update())
        nonce = max(ledger.pending_nonce(address), last_stored_nonce(s, address, ledger.chain_id) + 1)
        prepared = ledger.prepare_key_event(secret, key_id, kind, detail, nonce=nonce)
        row = s.get(TenantKeyEvent, event_id)
        row.state, row.chain_id, row.anchoring_address = KeyEventState.SENT, ledger.chain_id, address
        row.nonce, row.raw_tx, row.tx_hash = prepared.nonce, prepared.raw, prepared.tx_hash
    ledger.broadcast(prepared.raw)


def _drop_retired_secrets(sessions, tenant_id: int) -> None:
    """Drops the sealed secret of every anchoring key that no unrecorded event needs any more."""
    with sessions.begin() as s:
        needed = set(s.scalars(select(TenantKeyEvent.sender).where(TenantKeyEvent.tenant_id == tenant_id,
                                                                   TenantKeyEvent.state.in_(UNRECORDED))))
        for row in s.scalars(select(TenantKey).where(TenantKey.tenant_id == tenant_id,
                                                     TenantKey.retiring_secret_enc.is_not(None))):
            if row.number not in needed:
                row.retiring_secret_enc = None


def key_history(sessions, tenant_id: int) -> tuple[list[TenantKey], list[TenantKeyEvent]]:
    """The tenant's keys and key events (detached, for reading)."""
    with sessions() as s:
        keys = list(s.scalars(select(TenantKey).where(TenantKey.tenant_id == tenant_id)
                              .order_by(TenantKey.role.desc(), TenantKey.number)))
        events = list(s.scalars(select(TenantKeyEvent).where(TenantKeyEvent.tenant_id == tenant_id)
                                .order_by(TenantKeyEvent.id)))
        s.expunge_all()
    return keys, events


def describe(event: TenantKeyEvent) -> str:
    return f"{event.role} key {event.number} {KEY_EVENT_KINDS.get(event.kind, event.kind)}"

