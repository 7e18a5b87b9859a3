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
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from issuer.errors import IssuerError
from issuer.ledger.errors import IssuerLedgerError
from issuer.ledger.provider import LedgerProvider, MinedTransaction
from issuer.status.bitstring import Bitstring
from issuer.status.listcredential import list_credential, sign_list
from issuer.store.errors import LeaseLostError, SecretBoxError
from issuer.store.issuance import utcnow, xsd_now
from issuer.store.models import (PublicationState, StatusEntry, StatusList, StatusPublication, Tenant)
from issuer.store.nonces import last_stored_nonce
from issuer.store.secrets import SecretBox
from issuer.store.tenants import identity_of
from verifier.ledger.base import list_id_of

__all__ = ["PublicationFault", "StatusPublisher"]

log = logging.getLogger("anchorcred.issuer.status")

RETRYING = "ledger (retrying): "
NONCE_TRIES = 5
ACTIVE = (PublicationState.PENDING, PublicationState.SIGNED, PublicationState.SENT)
Hook = Callable[[str, str], None]  # (event, publication id): after each persisted state / side effect (tests)


class PublicationFault(IssuerError):
    """The publication cannot go on; it is marked failed with this reason (a new one follows after a pause)."""


class _Stop(Exception):
    """This step is over (the publication changed hands or state meanwhile)."""


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


class StatusPublisher:
    def __init__(self, sessions: sessionmaker[Session], box: SecretBox, ledger: LedgerProvider, *,
                 confirmations: int = 1, worker_id: str | None = None, lease_seconds: float = 60.0,
                 poll_interval: float = 0.5, min_interval: float = 0.0, retry_after: float = 60.0,
                 hook: Hook | None = None):
        """``min_interval``: a list is published at most once per this many seconds (changes made meanwhile wait
        and go out together); ``retry_after``: the pause after a failed publication before the next try."""
        if confirmations < 1 or lease_seconds <= 0 or min_interval < 0 or retry_after < 0:
            raise ValueError("confirmations >= 1, lease_seconds > 0, min_interval and retry_after >= 0")
        self.sessions = sessions
        self.box = box
        self.ledger = ledger
        self.confirmations = confirmations
        self.worker_id = (worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}")[:64]
        self.lease = timedelta(seconds=lease_seconds)
        self.poll_interval = poll_interval
        self.min_interval = timedelta(seconds=min_interval)
        self.retry_after = timedelta(seconds=retry_after)
        self.hook = hook
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    # ── driving ─────────────────────────────────────────────────────────────────────────────────────────────────
    def step(self) -> bool:
        """Opens publications for changed lists, then advances one publication by one state. True if it worked."""
        self.open_publications()
        pub_id = self._claim()
        if pub_id is None:
            return False
        try:
            self._advance(pub_id)
        except (_Stop, LeaseLostError) as exc:
            log.info("status publication %s: %s", pub_id, exc or "stopped")
        except IssuerLedgerError as exc:  # the node is down or refused: keep the state, say why, try again later
            log.warning("status publication %s: ledger: %s", pub_id, exc)
            self._note_error(pub_id, f"{RETRYING}{exc}")
            time.sleep(self.poll_interval)
        return True

    def run_until_idle(self, *, timeout: float = 120.0) -> int:
        """Steps until nothing is left to publish; the number of steps. ``TimeoutError`` after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        steps = 0
        while self.step():
            steps += 1
            if time.monotonic() > deadline:
                raise TimeoutError(f"status publisher still busy after {timeout}s ({steps} steps)")
        return steps

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._loop, name=f"status-publisher-{self.worker_id}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                busy = self.step()
            except Exception:  # a bug must not kill the publisher; the publication stays where it was
                log.exception("status publisher step failed")
                busy = False
            if not busy:
                self._stopping.wait(self.poll_interval)

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
                    state, updated = latest.state, _aware(latest.updated_at)
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

    # ── leases ──────────────────────────────────────────────────────────────────────────────────────────────────
    def _claim(self) -> str | None:
        now = utcnow()
        with self.sessions() as s:
            rows = s.execute(select(StatusPublication.id, StatusPublication.state, StatusPublication.lease_owner,
                                    StatusPublication.lease_until)
                             .where(StatusPublication.state.in_(ACTIVE))
                             .order_by(StatusPublication.created_at, StatusPublication.id)).all()
            s.rollback()
        for pub_id, state, owner, until in rows:
            if owner not in (None, self.worker_id) and until is not None and _aware(until) > now:
                continue
            with self.sessions.begin() as s:
                claimed = s.execute(
                    update(StatusPublication)
                    .where(StatusPublication.id == pub_id, StatusPublication.state == state,
                           StatusPublication.lease_owner.is_(None) | (StatusPublication.lease_owner == self.worker_id)
                           | (StatusPublication.lease_until < now))
                    .values(lease_owner=self.worker_id, lease_until=now + self.lease)
                    .execution_options(synchronize_session=False)
                ).rowcount
            if claimed == 1:
                return pub_id
        return None

    def _save(self, s: Session, pub_id: str, **values: Any) -> None:
        """Updates the publication if this worker still holds its lease (and renews it); else ``LeaseLostError``."""
        done = s.execute(
            update(StatusPublication).where(StatusPublication.id == pub_id,
                                            StatusPublication.lease_owner == self.worker_id)
            .values(**{"lease_until": utcnow() + self.lease, **values}).execution_options(synchronize_session=False)
        ).rowcount
        if done != 1:
            raise LeaseLostError(f"status publication {pub_id}: lease lost to another worker")

    def _event(self, event: str, pub_id: str) -> None:
        if self.hook is not None:
            self.hook(event, pub_id)

    def _transition(self, pub_id: str, state: PublicationState, **values: Any) -> None:
        with self.sessions.begin() as s:
            self._save(s, pub_id, state=state, **values)
        log.info("status publication %s: %s", pub_id, state.value)
        self._event(f"persisted:{state.value}", pub_id)

    def _note_error(self, pub_id: str, reason: str) -> None:
        try:
            with self.sessions.begin() as s:
                self._save(s, pub_id, error=reason[:2000])
        except LeaseLostError:
            pass

    # ── the states ──────────────────────────────────────────────────────────────────────────────────────────────
    def _advance(self, pub_id: str) -> None:
        with self.sessions() as s:
            state = s.get(StatusPublication, pub_id).state
            s.rollback()
        handler = {PublicationState.PENDING: self._sign, PublicationState.SIGNED: self._send,
                   PublicationState.SENT: self._follow}[state]
        try:
            handler(pub_id)
        except IssuerError as exc:
            if isinstance(exc, (LeaseLostError, IssuerLedgerError, SecretBoxError)):
                raise  # not the publication's fault: it stays where it is
            self._transition(pub_id, PublicationState.FAILED, error=f"{state.value}: {exc.diagnostics()}",
                             lease_owner=None, lease_until=None)

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
            note = s.scalar(select(StatusPublication.error).where(StatusPublication.id == pub_id))
            if note and note.startswith(RETRYING):
                note = None  # a ledger hiccup that passed; notes about replaced transactions stay
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
