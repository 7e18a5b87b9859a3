"""The status publisher: publishes each changed status list as a signed list credential whose digest ONE ledger
transaction anchors (``publishStatus(listId, digest)``), however many changes the publication carries. The batch
runner's sibling (``issuer.store.runner``), with the same rules:

    pending ─list signed, digest stored─▶ signed ─tx stored, then broadcast─▶ sent ─k confirmations─▶ published
                                                                                       (any ─▶ failed, with the reason)

- every state is written before its side effect, in short transactions (signing and ledger calls run outside them);
- a publication is opened for a list whose ``revision`` is ahead of its ``published_revision``, one at a time per
  list; it shows the list as it stands when signed (changes made meanwhile go to the next publication);
- the transaction is stored (nonce, raw bytes) before it is broadcast; on resume: mined -> wait for k confirmations;
  the registry shows our digest through another transaction -> follow that one; pending -> wait; unknown to the node
  -> rebroadcast the same bytes; a new transaction only when ours is provably gone (its nonce used by another and the
  registry without our digest). So a crash anywhere never publishes one list version twice;
- nonces are shared with the batch anchors of the same key (``issuer.store.nonces``), chosen under the tenant's lock;
- a lease (``lease_owner``, ``lease_until``) gives a publication to one worker at a time; every write checks it;
- the list is served (``StatusList.document``) from the publication once it is mined with k confirmations: what a
  verifier fetches then matches the registry's latest digest.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from issuer.errors import IssuerError
from issuer.ledger.errors import IssuerLedgerError
from issuer.ledger.provider import LedgerProvider, MinedTransaction
from issuer.status.bitstring import Bitstring
from issuer.status.listcredential import list_credential, sign_list
from issuer.store.issuance import utcnow, xsd_now
from issuer.store.leased import Hook, LeasedWorker, aware, lasting_note
from issuer.store.models import (PublicationState, StatusEntry, StatusList, StatusPublication, Tenant)
from issuer.store.nonces import last_stored_nonce
from issuer.store.secrets import SecretBox
from issuer.store.tenants import identity_of
from verifier.ledger.base import list_id_of

__all__ = ["PublicationFault", "StatusPublisher"]

log = logging.getLogger("anchorcred.issuer.status")

NONCE_TRIES = 5
ACTIVE = (PublicationState.PENDING, PublicationState.SIGNED, PublicationState.SENT)


class PublicationFault(IssuerError):
    """The publication cannot go on; it is marked failed with this reason (a new one follows after a pause)."""


class StatusPublisher(LeasedWorker):
    """Driving, leases and failures come from ``LeasedWorker`` (as for the batch runner); opening publications and
    the states are here."""

    model = StatusPublication
    noun = "status publication"
    name = "status publisher"
    log = log  # the module's logger

    def __init__(self, sessions: sessionmaker[Session], box: SecretBox, ledger: LedgerProvider, *,
                 confirmations: int = 1, worker_id: str | None = None, lease_seconds: float = 60.0,
                 poll_interval: float = 0.5, min_interval: float = 0.0, retry_after: float = 60.0,
                 hook: Hook | None = None):
        """``min_interval``: a list is published at most once per this many seconds (changes made meanwhile wait
        and go out together); ``retry_after``: the pause after a failed publication before the next try."""
        if confirmations < 1 or lease_seconds <= 0 or min_interval < 0 or retry_after < 0:
            raise ValueError("confirmations >= 1, lease_seconds > 0, min_interval and retry_after >= 0")
        super().__init__(sessions, box, ledger, confirmations=confirmations, worker_id=worker_id,
                         lease_seconds=lease_seconds, poll_interval=poll_interval, hook=hook)
        self.min_interval = timedelta(seconds=min_interval)
        self.retry_after = timedelta(seconds=retry_after)

    def step(self) -> bool:
        """Opens publications for changed lists, then advances one publication by one state. True if it worked."""
        self.open_publications()
        return super().step()

    def _candidates(self, now: datetime) -> Sequence[tuple[str, Enum, str | None, datetime | None]]:
        with self.sessions() as s:
            rows = s.execute(select(StatusPublication.id, StatusPublication.state, StatusPublication.lease_owner,
                                    StatusPublication.lease_until)
                             .where(StatusPublication.state.in_(ACTIVE))
                             .order_by(StatusPublication.created_at, StatusPublication.id)).all()
            s.rollback()
        return rows

    def _handlers(self) -> dict[Any, Callable[[str], None]]:
        return {PublicationState.PENDING: self._sign, PublicationState.SIGNED: self._send,
                PublicationState.SENT: self._follow}

    def _fail(self, pub_id: str, reason: str) -> None:
        self._transition(pub_id, PublicationState.FAILED, error=reason, lease_owner=None, lease_until=None)

    # ── opening publications ────────────────────────────────────────────────────────────────────────────────────
    def open_publications(self) -> list[str]:
        """A PENDING publication for every list that changed since it was last published, unless one is under
        way, the last one landed less than ``min_interval`` ago, or the last one failed less than
        ``retry_after`` ago. Returns the new publications' ids."""
        now = utcnow()
        with self.sessions() as s:
            dirty = s.scalars(select(StatusList.id).where(StatusList.revision > StatusList.published_revision)
                              .order_by(StatusList.created_at)).all()
            s.rollback()
        opened = []
        for list_id in dirty:
            with self.sessions.begin() as s:
                # The list's row lock serializes openers of the same list (PostgreSQL; SQLite's BEGIN IMMEDIATE too).
                status_list = s.scalar(select(StatusList).where(StatusList.id == list_id).with_for_update())
                if status_list.revision <= status_list.published_revision:
                    continue
                latest = s.execute(select(StatusPublication.state, StatusPublication.updated_at)
                                   .where(StatusPublication.list_id == list_id)
                                   .order_by(StatusPublication.created_at.desc(), StatusPublication.id).limit(1)
                                   ).first()
                if latest is not None:
                    state, updated = latest.state, aware(latest.updated_at)
                    if state in ACTIVE:
                        continue
                    pause = self.retry_after if state is PublicationState.FAILED else self.min_interval
                    if updated is not None and updated > now - pause:
                        continue
                pub = StatusPublication(id=str(uuid.uuid4()), tenant_id=status_list.tenant_id, list_id=list_id,
                                        state=PublicationState.PENDING, revision=status_list.revision,
                                        created_at=utcnow())
                s.add(pub)
            opened.append(pub.id)
            self._event("persisted:pending", pub.id)
        return opened

    # ── the states ──────────────────────────────────────────────────────────────────────────────────────────────
    def _sign(self, pub_id: str) -> None:
        with self.sessions() as s:
            pub = s.get(StatusPublication, pub_id)
            status_list = s.get(StatusList, pub.list_id)
            tenant = s.get(Tenant, status_list.tenant_id)
            # The revision first: entries read after it can only show more changes, never fewer (a change seen
            # here but not counted is published again next time, never lost).
            revision = status_list.revision
            ones = s.scalars(select(StatusEntry.list_index).where(StatusEntry.list_id == status_list.id,
                                                                  StatusEntry.value.is_(True))).all()
            identity = identity_of(tenant, self.box)
            url, purpose, size = status_list.url, status_list.purpose.value, status_list.size
            s.rollback()
        now = xsd_now()
        signed = sign_list(list_credential(url, identity.did, purpose, Bitstring(size, ones), valid_from=now),
                           identity, created=now)
        self._transition(pub_id, PublicationState.SIGNED, revision=revision, ones=len(ones),
                         document=signed.document, digest=signed.digest.hex())

    def _context(self, pub_id: str) -> dict[str, Any]:
        with self.sessions() as s:
            pub = s.get(StatusPublication, pub_id)
            status_list = s.get(StatusList, pub.list_id)
            tenant = s.get(Tenant, status_list.tenant_id)
            identity = identity_of(tenant, self.box)
            out = {"tenant_id": tenant.id, "identity": identity, "address": identity.anchoring_address,
                   "list_id": list_id_of(status_list.url), "digest": bytes.fromhex(pub.digest),
                   "tx_hash": pub.tx_hash, "raw": pub.raw_tx, "nonce": pub.nonce}
            s.rollback()
        return out

    def _send(self, pub_id: str, *, replacing: str | None = None) -> None:
        if self.ledger.registry_address is None:
            raise PublicationFault("this ledger has no AnchorRegistry (calldata mode): a status list digest cannot "
                                   "be anchored; run the service with a registry")
        c = self._context(pub_id)
        if replacing is None and self._adopt(pub_id, c):
            return
        self.ledger.ensure_funds(c["address"])
        for _ in range(NONCE_TRIES):
            with self.sessions() as s:
                floor = last_stored_nonce(s, c["address"], self.ledger.chain_id)
            nonce = max(self.ledger.pending_nonce(c["address"]), floor + 1)
            prepared = self.ledger.prepare_status(c["identity"].secp256k1_secret, c["list_id"], c["digest"],
                                                  nonce=nonce)
            with self.sessions.begin() as s:
                s.execute(select(Tenant.id).where(Tenant.id == c["tenant_id"]).with_for_update())
                if s.scalar(select(Tenant.anchoring_address).where(Tenant.id == c["tenant_id"])) != c["address"]:
                    # Rotated meanwhile (issuer.store.keyevents; a signed publication is not "in flight" for it):
                    # never publish from a retired address. The next step reads the new one.
                    raise IssuerLedgerError(f"status publication {pub_id}: the tenant's anchoring key was rotated "
                                            "meanwhile; publishing with the new one")
                if last_stored_nonce(s, c["address"], self.ledger.chain_id) >= nonce:
                    continue  # a batch or another publication of this key took the nonce meanwhile
                note = f"replaced {replacing} (its nonce was used by another transaction)" if replacing else None
                self._save(s, pub_id, state=PublicationState.SENT, chain_id=self.ledger.chain_id,
                           anchoring_address=c["address"], nonce=prepared.nonce, raw_tx=prepared.raw,
                           tx_hash=prepared.tx_hash, error=note)
            break
        else:
            raise IssuerLedgerError(f"status publication {pub_id}: no free nonce for {c['address']} after "
                                    f"{NONCE_TRIES} tries")
        self._event("persisted:sent", pub_id)
        self.ledger.broadcast(prepared.raw)
        self._event("broadcast", pub_id)

    def _adopt(self, pub_id: str, c: dict[str, Any]) -> bool:
        """If the registry's latest digest of the list is ours through another transaction than the stored one
        (or through any, before one is stored), follow that transaction: nothing is sent again."""
        record = self.ledger.status_of(c["address"], c["list_id"])
        if record is None or bytes(record.digest) != c["digest"]:
            return False
        found = self.ledger.find_status_transaction(c["address"], c["list_id"], c["digest"])
        if found is None or (c["tx_hash"] or "").lower() == found.lower():
            return False
        with self.sessions.begin() as s:
            self._save(s, pub_id, state=PublicationState.SENT, chain_id=self.ledger.chain_id,
                       anchoring_address=c["address"], tx_hash=found,
                       error=f"published by transaction {found} instead of the stored {c['tx_hash']}")
        self._event("adopted", pub_id)
        return True

    def _follow(self, pub_id: str) -> None:
        c = self._context(pub_id)
        mined = self.ledger.receipt(c["tx_hash"])
        if mined is not None and not mined.succeeded:
            if self._adopt(pub_id, c):
                return
            raise PublicationFault(f"publishStatus transaction {c['tx_hash']} was mined but reverted")
        if mined is not None:
            if mined.confirmations < self.confirmations:
                with self.sessions.begin() as s:
                    self._save(s, pub_id, block_number=mined.block_number, block_hash=mined.block_hash)
                self.ledger.wait()
                return
            self._publish(pub_id, c, mined)
            return
        if self._adopt(pub_id, c):
            return
        if self.ledger.is_pending(c["tx_hash"]):
            self.ledger.wait()
            return
        if self.ledger.mined_nonce(c["address"]) > c["nonce"]:
            record = self.ledger.status_of(c["address"], c["list_id"])
            if self.ledger.receipt(c["tx_hash"]) is None and (record is None or bytes(record.digest) != c["digest"]):
                log.warning("status publication %s: transaction %s is gone (nonce %s used by another); signing a "
                            "new one", pub_id, c["tx_hash"], c["nonce"])
                self._send(pub_id, replacing=c["tx_hash"])
            return
        self.ledger.broadcast(c["raw"])  # unknown to the node: the same bytes again
        self._event("rebroadcast", pub_id)
        self.ledger.wait()

    def _publish(self, pub_id: str, c: dict[str, Any], mined: MinedTransaction) -> None:
        record = self.ledger.status_of(c["address"], c["list_id"])
        version = record.version if record is not None and bytes(record.digest) == c["digest"] else None
        with self.sessions.begin() as s:
            note = lasting_note(s.scalar(select(StatusPublication.error).where(StatusPublication.id == pub_id)))
            self._save(s, pub_id, state=PublicationState.PUBLISHED, block_number=mined.block_number,
                       block_hash=mined.block_hash, block_time=mined.block_time, gas_used=mined.gas_used,
                       version=version, error=note, lease_owner=None, lease_until=None)
            pub = s.get(StatusPublication, pub_id)
            status_list = s.scalar(select(StatusList).where(StatusList.id == pub.list_id).with_for_update())
            if pub.revision >= status_list.published_revision:
                status_list.document = pub.document
                status_list.digest = pub.digest
                status_list.version = version if version is not None else status_list.version + 1
                status_list.published_at = mined.block_time
                status_list.published_revision = pub.revision
        log.info("status publication %s: published (list %s version %s)", pub_id, pub.list_id, version)
        self._event("persisted:published", pub_id)


def publications_gas(sessions: sessionmaker[Session], tenant_id: int) -> int:
    """Total gas of the tenant's landed publications (for figures and the admin page)."""
    with sessions() as s:
        return int(s.scalar(select(func.coalesce(func.sum(StatusPublication.gas_used), 0))
                            .where(StatusPublication.tenant_id == tenant_id)) or 0)
