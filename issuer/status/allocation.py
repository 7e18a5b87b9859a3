"""Where a credential's status bits live: one entry per purpose (revocation, suspension), at a random free index of
the tenant's current list for that purpose (W3C Bitstring Status List v1.0 §5.1 "Privacy": an index says nothing about
the credentials next to it, so indices are drawn with ``secrets``, never handed out in order).

A list holds ``MIN_LIST_SIZE`` entries (131,072, the spec's minimum); when the newest list of a purpose is full, a
new one is opened. Allocation happens inside the caller's transaction (the credential and its entries are committed
together). Two transactions may draw the same index at once (PostgreSQL: neither sees the other's rows): the
``(list_id, list_index)`` unique constraint refuses the second, which draws again inside a savepoint.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from issuer.status.bitstring import MIN_LIST_SIZE
from issuer.store.errors import StoreError
from issuer.store.models import StatusEntry, StatusList, StatusPurpose, Tenant

__all__ = ["PURPOSES", "allocate", "entry_json", "status_entries_of", "status_url"]

PURPOSES = (StatusPurpose.REVOCATION, StatusPurpose.SUSPENSION)
PROBES = 64  # random probes before the free indices of a (nearly full) list are listed exactly
BULK = 16  # from this many credentials on, the list's used indices are read once instead of probed one by one
TRIES = 5  # draws of one chunk that lost a race before giving up


def status_url(public_url: str, slug: str, list_id: str) -> str:
    """Where the list credential is served (``issuer.service.status_api``):
    ``<public_url>/tenants/<slug>/status/<id>``."""
    return f"{public_url.rstrip('/')}/tenants/{slug}/status/{list_id}"


def entry_json(url: str, purpose: StatusPurpose | str, index: int) -> dict[str, Any]:
    """One ``BitstringStatusListEntry`` (spec §2.1); ``statusListIndex`` is a string, as the spec has it."""
    purpose = StatusPurpose(purpose).value
    return {"id": f"{url}#{index}", "type": "BitstringStatusListEntry", "statusPurpose": purpose,
            "statusListIndex": str(index), "statusListCredential": url}


def allocate(session: Session, tenant: Tenant, credential_ids: Sequence[str], *, public_url: str,
             size: int = MIN_LIST_SIZE) -> dict[str, list[dict[str, Any]]]:
    """Entries for each credential, one per purpose (revocation first), stored in the session (flushed, not
    committed); returns each credential's ``credentialStatus`` value."""
    if len(set(credential_ids)) != len(credential_ids):
        raise ValueError("allocate: credential ids must be distinct")
    out: dict[str, list[dict[str, Any]]] = {cid: [] for cid in credential_ids}
    for purpose in PURPOSES:
        remaining = list(credential_ids)
        while remaining:
            status_list = _current_list(session, tenant, purpose, public_url, size)
            placed = _place(session, tenant, status_list, remaining)
            if not placed:  # the newest list is full: open the next one
                _new_list(session, tenant, purpose, public_url, size)
                continue
            for cid, index in placed:
                out[cid].append(entry_json(status_list.url, purpose, index))
            remaining = remaining[len(placed):]
    return out


def _current_list(session: Session, tenant: Tenant, purpose: StatusPurpose, public_url: str,
                  size: int) -> StatusList:
    """The newest list of the purpose (full or not: ``_place`` finds out), or a new one if there is none."""
    found = session.scalar(select(StatusList).where(StatusList.tenant_id == tenant.id, StatusList.purpose == purpose)
                           .order_by(StatusList.created_at.desc(), StatusList.id).limit(1))
    return found if found is not None else _new_list(session, tenant, purpose, public_url, size)


def _new_list(session: Session, tenant: Tenant, purpose: StatusPurpose, public_url: str, size: int) -> StatusList:
    list_id = str(uuid.uuid4())
    # created_at set here (microseconds), not by the database: PostgreSQL's now() is the transaction's start, and
    # the newest list must be the last one opened even when one transaction opens two.
    status_list = StatusList(id=list_id, tenant_id=tenant.id, purpose=purpose, size=size,
                             url=status_url(public_url, tenant.slug, list_id), revision=1, published_revision=0,
                             version=0, created_at=datetime.now(UTC))
    session.add(status_list)
    session.flush()
    return status_list


def _place(session: Session, tenant: Tenant, status_list: StatusList,
           credential_ids: list[str]) -> list[tuple[str, int]]:
    """Stores entries for as many of ``credential_ids`` (in order) as the list has room for; [] if it is full."""
    for _ in range(TRIES):
        indices = _draw(session, status_list, len(credential_ids))
        if not indices:
            return []
        placed = list(zip(credential_ids, indices))
        rows = [{"credential_id": cid, "purpose": status_list.purpose, "tenant_id": tenant.id,
                 "list_id": status_list.id, "list_index": index, "value": False} for cid, index in placed]
        try:
            with session.begin_nested():
                session.execute(insert(StatusEntry), rows)
        except IntegrityError:
            if session.scalar(select(StatusEntry.credential_id).where(
                    StatusEntry.credential_id.in_(credential_ids[:len(placed)]),
                    StatusEntry.purpose == status_list.purpose).limit(1)) is not None:
                raise  # a credential with one of these ids has its entries already (a duplicate id), not a race
            continue  # another transaction took one of these indices meanwhile: draw again
        return placed
    raise StoreError(f"status list {status_list.id}: no free index after {TRIES} draws (too many concurrent "
                     "issuers for this list); try again")


def _draw(session: Session, status_list: StatusList, wanted: int) -> list[int]:
    """Up to ``wanted`` distinct free indices of the list, uniformly at random; [] if it is full."""
    size = status_list.size
    if wanted < BULK:
        picked: list[int] = []
        misses = 0
        while len(picked) < wanted and misses < PROBES:
            index = secrets.randbelow(size)
            if index in picked or _taken(session, status_list.id, index):
                misses += 1
                continue
            picked.append(index)
        if len(picked) == wanted:
            return picked
    used = set(session.scalars(select(StatusEntry.list_index).where(StatusEntry.list_id == status_list.id)))
    free = size - len(used)
    if free <= 0:
        return []
    count = min(wanted, free)
    if len(used) + count <= size // 2:  # mostly empty: rejection sampling, no list of the free indices
        chosen: set[int] = set()
        order: list[int] = []
        while len(order) < count:
            index = secrets.randbelow(size)
            if index not in used and index not in chosen:
                chosen.add(index)
                order.append(index)
        return order
    return secrets.SystemRandom().sample([i for i in range(size) if i not in used], count)


def _taken(session: Session, list_id: str, index: int) -> bool:
    return session.scalar(select(StatusEntry.list_index).where(StatusEntry.list_id == list_id,
                                                               StatusEntry.list_index == index)) is not None


def status_entries_of(session: Session, credential_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """The stored ``credentialStatus`` of each credential that has entries (revocation first); others absent."""
    rows = session.execute(
        select(StatusEntry.credential_id, StatusEntry.purpose, StatusEntry.list_index, StatusList.url)
        .join(StatusList, StatusList.id == StatusEntry.list_id)
        .where(StatusEntry.credential_id.in_(list(credential_ids)))
    ).all()
    out: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for cid, purpose, index, url in rows:
        out.setdefault(cid, []).append((PURPOSES.index(purpose), entry_json(url, purpose, index)))
    return {cid: [entry for _, entry in sorted(items, key=lambda item: item[0])] for cid, items in out.items()}
