"""Revoke, suspend, reinstate: the bits a tenant wants published, and the record of who changed what, when and why.

A change sets the entry's ``value`` and bumps its list's ``revision`` (once per request and list, however many
credentials it names); the publisher (``issuer.status.publisher``) later signs the list as it then stands and anchors
it in ONE transaction. So a change is accepted at once (the API answers 202) and published within a publication cycle.

Rules: revocation is for good (a revoked credential cannot be suspended or reinstated); reinstating lifts a
suspension. A change that would not change the bit (revoking a revoked credential) is reported as unchanged and not
recorded. A request names at most ``MAX_CREDENTIALS`` credentials and is all or nothing: one unknown credential, or one
that carries no status, refuses the whole request with every offending id named.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from issuer.store.errors import StoreError
from issuer.store.issuance import utcnow
from issuer.store.models import (CredentialRecord, StatusAction, StatusChange, StatusEntry, StatusList,
                                 StatusPurpose)

__all__ = ["MAX_CREDENTIALS", "MAX_REASON", "ChangeResult", "StatusChangeError", "change_status", "status_of"]

MAX_CREDENTIALS = 10_000
MAX_REASON = 1000
_IN_CHUNK = 500  # ids per IN (...) query


class StatusChangeError(StoreError):
    """A change request that cannot be applied. ``unknown``: ids that are no credential of this tenant (404);
    ``conflicts``: id -> why the change is impossible (409)."""

    def __init__(self, message: str, *, unknown: Sequence[str] = (), conflicts: dict[str, str] | None = None):
        super().__init__(message)
        self.unknown = list(unknown)
        self.conflicts = dict(conflicts or {})


@dataclass(frozen=True)
class ChangeResult:
    action: StatusAction
    changed: list[str] = field(default_factory=list)  # ids whose bit changed (one record each)
    unchanged: list[str] = field(default_factory=list)  # already so (nothing recorded)
    lists: dict[str, int] = field(default_factory=dict)  # list id -> the revision that will carry the change


def _purpose(action: StatusAction) -> StatusPurpose:
    return StatusPurpose.REVOCATION if action is StatusAction.REVOKE else StatusPurpose.SUSPENSION


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), _IN_CHUNK):
        yield items[i:i + _IN_CHUNK]


def change_status(session: Session, tenant_id: int, credential_ids: Sequence[str], action: StatusAction | str, *,
                  reason: str, actor: str) -> ChangeResult:
    """Applies ``action`` to every credential (in the caller's transaction; the caller commits)."""
    action = StatusAction(action)
    if not isinstance(reason, str) or not reason.strip():
        raise ValueError("a status change needs a reason (it is kept in the issuer's records)")
    if len(reason) > MAX_REASON:
        raise ValueError(f"the reason may have at most {MAX_REASON} characters, got {len(reason)}")
    if not actor or len(actor) > 200:
        raise ValueError("a status change needs an actor of 1 to 200 characters")
    ids = list(dict.fromkeys(credential_ids))  # duplicates named twice count once
    if not ids:
        raise ValueError("name at least one credential")
    if len(ids) > MAX_CREDENTIALS:
        raise ValueError(f"at most {MAX_CREDENTIALS} credentials per request, got {len(ids)}")
    if any(not isinstance(cid, str) or not cid or len(cid) > 100 for cid in ids):
        raise ValueError("credential ids are non-empty strings of at most 100 characters")

    entries: dict[tuple[str, StatusPurpose], StatusEntry] = {}
    for chunk in _chunks(ids):
        for entry in session.scalars(select(StatusEntry).where(StatusEntry.tenant_id == tenant_id,
                                                               StatusEntry.credential_id.in_(chunk))):
            entries[(entry.credential_id, entry.purpose)] = entry
    lacking = [cid for cid in ids if (cid, StatusPurpose.REVOCATION) not in entries
               or (cid, StatusPurpose.SUSPENSION) not in entries]
    if lacking:
        known: set[str] = set()
        for chunk in _chunks(lacking):
            known.update(session.scalars(select(CredentialRecord.id).where(CredentialRecord.tenant_id == tenant_id,
                                                                           CredentialRecord.id.in_(chunk))))
        unknown = [cid for cid in lacking if cid not in known]
        if unknown:
            raise StatusChangeError(f"no credential {_names(unknown)} (for this tenant)", unknown=unknown)
        conflicts = {cid: "issued without credentialStatus: no status list can revoke or suspend it"
                     for cid in lacking}
        raise StatusChangeError(f"{_names(lacking)}: {conflicts[lacking[0]]}", conflicts=conflicts)

    conflicts = {}
    target = _purpose(action)
    changed: list[StatusEntry] = []
    unchanged: list[str] = []
    for cid in ids:
        revoked = entries[(cid, StatusPurpose.REVOCATION)].value
        entry = entries[(cid, target)]
        if revoked and action is not StatusAction.REVOKE:
            done = "suspended" if action is StatusAction.SUSPEND else "reinstated"
            conflicts[cid] = f"revoked for good: it cannot be {done}"
            continue
        want = action is not StatusAction.REINSTATE
        if entry.value == want:
            unchanged.append(cid)
        else:
            changed.append(entry)
    if conflicts:
        first = next(iter(conflicts))
        raise StatusChangeError(f"{_names(list(conflicts))}: {conflicts[first]}", conflicts=conflicts)

    revisions: dict[str, int] = {}
    # One revision per list and request, lists in a fixed order (two requests never lock them crosswise).
    for list_id in sorted({e.list_id for e in changed}):
        revisions[list_id] = session.execute(
            update(StatusList).where(StatusList.id == list_id).values(revision=StatusList.revision + 1)
            .returning(StatusList.revision)
        ).scalar_one()
    now = utcnow()
    want = action is not StatusAction.REINSTATE
    for entry in changed:
        entry.value = want
    session.add_all(StatusChange(tenant_id=tenant_id, credential_id=e.credential_id, action=action,
                                 reason=reason.strip(), actor=actor, list_id=e.list_id,
                                 list_revision=revisions[e.list_id], created_at=now) for e in changed)
    session.flush()
    return ChangeResult(action, [e.credential_id for e in changed], unchanged, revisions)


def _names(ids: Sequence[str]) -> str:
    shown = ", ".join(ids[:5])
    return shown + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")


def status_of(session: Session, tenant_id: int, credential_id: str) -> dict[str, Any] | None:
    """What the issuer's records say about one credential: its bits as they will be published, whether the
    latest change is published yet, its entries and its history (oldest first). None: no such credential here."""
    entries = {e.purpose: e for e in session.scalars(select(StatusEntry).where(
        StatusEntry.tenant_id == tenant_id, StatusEntry.credential_id == credential_id))}
    if not entries:
        exists = session.scalar(select(CredentialRecord.id).where(CredentialRecord.tenant_id == tenant_id,
                                                                  CredentialRecord.id == credential_id))
        if exists is None:
            return None
        return {"id": credential_id, "hasStatus": False, "revoked": False, "suspended": False, "published": True,
                "entries": [], "history": []}
    lists = {sl.id: sl for sl in session.scalars(select(StatusList).where(
        StatusList.id.in_([e.list_id for e in entries.values()])))}
    history = session.scalars(select(StatusChange).where(StatusChange.tenant_id == tenant_id,
                                                         StatusChange.credential_id == credential_id)
                              .order_by(StatusChange.id)).all()
    published = all(lists[c.list_id].published_revision >= c.list_revision for c in history)
    return {
        "id": credential_id,
        "hasStatus": True,
        "revoked": entries[StatusPurpose.REVOCATION].value,
        "suspended": entries[StatusPurpose.SUSPENSION].value,
        "published": published,
        "entries": [{"purpose": p.value, "list": lists[e.list_id].url, "index": e.list_index,
                     "listVersion": lists[e.list_id].version}
                    for p, e in sorted(entries.items(), key=lambda item: item[0].value)],
        "history": [{"action": c.action.value, "reason": c.reason, "actor": c.actor, "at": _iso(c.created_at),
                     "published": lists[c.list_id].published_revision >= c.list_revision} for c in history],
    }


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
