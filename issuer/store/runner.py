"""The batch runner: drives each batch through its persisted state machine (``issuer.store.models.BatchState``).

    open ─seal─▶ sealed ─sign─▶ signed ─tree─▶ tree_built ─store tx, then broadcast─▶ anchor_sent
         ─k confirmations─▶ confirmed ─add merkle proofs─▶ delivered           (any ─▶ failed, with the reason)

Every transition is written before its side effect, in short transactions (nothing slow runs inside one): a runner
killed at any point leaves a state another runner resumes from. The rules that keep it exactly-once:

- signing writes a credential's document only where it is still NULL (a chunk is signed again after a crash, never
  stored twice); delivery adds the merkle proof only to a document that lacks it;
- the anchoring transaction is signed, then stored with its nonce and raw bytes (``anchor_sent``), then broadcast.
  On resume: mined -> wait for k confirmations; the registry shows the root -> confirm through the stored hash, or,
  if another transaction carried it, through that one (recorded); pending -> wait; unknown -> rebroadcast the same
  bytes. A second transaction is signed only when the first is provably gone: its nonce is used by another mined
  transaction and the registry does not hold the root. The new one gets a fresh nonce and is stored the same way.
- nonce = max(the node's pending count, the last nonce stored for that address + 1), chosen under a row lock of the
  tenant, so two batches of one tenant never share a nonce even across runners;
- a lease (``lease_owner``, ``lease_until``) gives a batch to one runner at a time; every write checks it.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from issuer.achievement import parse_achievement
from issuer.batch import BatchDocuments, Signer, anchoring_method, issuer_profile, merkle_proof
from issuer.credential import CredentialTemplate
from issuer.errors import IssuerError
from issuer.ledger.errors import AlreadyAnchoredError, IssuerLedgerError
from issuer.ledger.provider import LedgerProvider
from issuer.store.errors import LeaseLostError, SecretBoxError
from issuer.store.issuance import learner_from_dict, utcnow, xsd_now
from issuer.store.models import TERMINAL_STATES, AchievementRecord, Batch, BatchState, CredentialRecord, Tenant
from issuer.store.secrets import SecretBox
from issuer.store.tenants import identity_of
from verifier.merkle import build_tree
from verifier.merkleproof import Anchor

__all__ = ["BatchRunner", "Hook"]

log = logging.getLogger("anchorcred.issuer.runner")

RETRYING = "ledger (retrying): "
Hook = Callable[[str, str], None]  # (event, batch id): called after each persisted state / side effect (tests)


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite hands datetimes back naive (they are stored in UTC)."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


class _Stop(Exception):
    """This step is over (the batch changed hands or state meanwhile)."""


class BatchRunner:
    def __init__(self, sessions: sessionmaker[Session], box: SecretBox, ledger: LedgerProvider, *,
                 confirmations: int = 1, seal_after: float = 60.0, seal_at: int = 1000, worker_id: str | None = None,
                 lease_seconds: float = 60.0, chunk: int = 50, poll_interval: float = 0.5,
                 hook: Hook | None = None):
        if confirmations < 1:
            raise ValueError(f"confirmations must be >= 1, got {confirmations}")
        if seal_at < 1 or chunk < 1 or seal_after < 0 or lease_seconds <= 0:
            raise ValueError("seal_at and chunk must be >= 1, seal_after >= 0, lease_seconds > 0")
        self.sessions = sessions
        self.box = box
        self.ledger = ledger
        self.confirmations = confirmations
        self.seal_after = seal_after
        self.seal_at = seal_at
        self.worker_id = (worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}")[:64]
        self.lease = timedelta(seconds=lease_seconds)
        self.chunk = chunk
        self.poll_interval = poll_interval
        self.hook = hook
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    # ── driving ─────────────────────────────────────────────────────────────────────────────────────────────────
    def step(self) -> bool:
        """Claims one batch that has work and advances it one state. True if it did work (or waited on the ledger)."""
        batch_id = self._claim()
        if batch_id is None:
            return False
        try:
            self._advance(batch_id)
        except (_Stop, LeaseLostError) as exc:
            log.info("batch %s: %s", batch_id, exc or "stopped")
        except IssuerLedgerError as exc:  # the node is down or refused: keep the state, say why, try again later
            log.warning("batch %s: ledger: %s", batch_id, exc)
            self._note_error(batch_id, f"{RETRYING}{exc}")
            time.sleep(self.poll_interval)
        return True

    def run_until_idle(self, *, timeout: float = 120.0) -> int:
        """Steps until no batch has work; returns the number of steps. ``TimeoutError`` after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        steps = 0
        while self.step():
            steps += 1
            if time.monotonic() > deadline:
                raise TimeoutError(f"batch runner still busy after {timeout}s ({steps} steps)")
        return steps

    def start(self) -> None:
        """Runs in a background thread, polling every ``poll_interval`` seconds when idle."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._loop, name=f"batch-runner-{self.worker_id}", daemon=True)
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
            except Exception:  # a bug must not kill the runner; the batch stays where it was and is retried
                log.exception("batch runner step failed")
                busy = False
            if not busy:
                self._stopping.wait(self.poll_interval)

    # ── leases ──────────────────────────────────────────────────────────────────────────────────────────────────
    def _claim(self) -> str | None:
        now = utcnow()
        with self.sessions() as s:
            rows = s.execute(
                select(Batch.id, Batch.state, Batch.total, Batch.created_at, Batch.lease_owner, Batch.lease_until)
                .where(Batch.state.not_in(TERMINAL_STATES)).order_by(Batch.created_at, Batch.id)
            ).all()
            s.rollback()
        for bid, state, total, created, owner, until in rows:
            if state is BatchState.OPEN and total < self.seal_at and \
                    _aware(created) > now - timedelta(seconds=self.seal_after):
                continue
            if owner not in (None, self.worker_id) and until is not None and _aware(until) > now:
                continue
            with self.sessions.begin() as s:
                claimed = s.execute(
                    update(Batch)
                    .where(Batch.id == bid, Batch.state == state,
                           (Batch.lease_owner.is_(None)) | (Batch.lease_owner == self.worker_id)
                           | (Batch.lease_until < now))
                    .values(lease_owner=self.worker_id, lease_until=now + self.lease)
                    .execution_options(synchronize_session=False)
                ).rowcount
            if claimed == 1:
                return bid
        return None

    def _save(self, s: Session, batch_id: str, **values: Any) -> None:
        """Updates the batch if this runner still holds its lease (and renews it); else ``LeaseLostError``."""
        done = s.execute(
            update(Batch).where(Batch.id == batch_id, Batch.lease_owner == self.worker_id)
            .values(**{"lease_until": utcnow() + self.lease, **values}).execution_options(synchronize_session=False)
        ).rowcount
        if done != 1:
            raise LeaseLostError(f"batch {batch_id}: lease lost to another worker")

    def _event(self, event: str, batch_id: str) -> None:
        if self.hook is not None:
            self.hook(event, batch_id)

    def _transition(self, batch_id: str, state: BatchState, **values: Any) -> None:
        with self.sessions.begin() as s:
            self._save(s, batch_id, state=state, **values)
        log.info("batch %s: %s", batch_id, state.value)
        self._event(f"persisted:{state.value}", batch_id)

    def _fail(self, batch_id: str, reason: str) -> None:
        self._transition(batch_id, BatchState.FAILED, error=reason, stage="failed", lease_owner=None,
                         lease_until=None)

    def _note_error(self, batch_id: str, reason: str) -> None:
        try:
            with self.sessions.begin() as s:
                self._save(s, batch_id, error=reason[:2000])
        except LeaseLostError:
            pass

    # ── the states ──────────────────────────────────────────────────────────────────────────────────────────────
    def _advance(self, batch_id: str) -> None:
        with self.sessions() as s:
            batch = s.get(Batch, batch_id)
            state = batch.state
            s.rollback()
        handler = {
            BatchState.OPEN: self._seal,
            BatchState.SEALED: self._sign,
            BatchState.SIGNED: self._build_tree,
            BatchState.TREE_BUILT: self._send,
            BatchState.ANCHOR_SENT: self._follow,
            BatchState.CONFIRMED: self._deliver,
        }[state]
        try:
            handler(batch_id)
        except IssuerError as exc:
            if isinstance(exc, (LeaseLostError, IssuerLedgerError, SecretBoxError)):
                raise  # not the batch's fault: it stays where it is
            # The batch cannot go on as it is (an achievement that no longer parses, a key that does not open).
            self._fail(batch_id, f"{state.value}: {exc.diagnostics()}")

    def _seal(self, batch_id: str) -> None:
        with self.sessions.begin() as s:
            self._save(s, batch_id, state=BatchState.SEALED, sealed_at=utcnow(), stage="sealed", done=0)
        self._event("persisted:sealed", batch_id)

    def _sign(self, batch_id: str) -> None:
        signer: Signer | None = None
        while True:
            with self.sessions() as s:
                batch = s.get(Batch, batch_id)
                todo = s.execute(
                    select(CredentialRecord.id, CredentialRecord.position, CredentialRecord.learner)
                    .where(CredentialRecord.batch_id == batch_id, CredentialRecord.document.is_(None))
                    .order_by(CredentialRecord.position).limit(self.chunk)
                ).all()
                if todo and signer is None:
                    signer = self._signer(s, batch)
                s.rollback()
            if not todo:
                break
            signed = []
            for cid, _position, learner in todo:  # outside any transaction: this is the slow part
                doc = signer.docs.template.build(learner_from_dict(learner), credential_id=cid,
                                                 salt=_salt())
                proof, leaf = signer.sign_document(doc)
                signed.append((cid, {**doc, "proof": proof}, leaf.hex()))
            with self.sessions.begin() as s:
                self._save(s, batch_id, stage="signing")  # lease first: it also locks the batch row
                for cid, document, leaf in signed:
                    s.execute(update(CredentialRecord)
                              .where(CredentialRecord.id == cid, CredentialRecord.document.is_(None))
                              .values(document=document, leaf=leaf).execution_options(synchronize_session=False))
                done = s.scalar(select(func.count()).select_from(CredentialRecord).where(
                    CredentialRecord.batch_id == batch_id, CredentialRecord.document.is_not(None)))
                self._save(s, batch_id, done=done)
            self._event("chunk:signed", batch_id)
        with self.sessions() as s:
            total = s.scalar(select(func.count()).select_from(CredentialRecord)
                             .where(CredentialRecord.batch_id == batch_id))
        self._transition(batch_id, BatchState.SIGNED, stage="signed", done=total, total=total)

    def _signer(self, s: Session, batch: Batch) -> Signer:
        if batch.achievement_id is None:
            raise _BatchFault("a VC-API batch holds an unsigned credential (it cannot be signed without its "
                              "achievement)")
        tenant = s.get(Tenant, batch.tenant_id)
        achievement = parse_achievement(s.get(AchievementRecord, batch.achievement_id).spec)
        issued = _aware(batch.sealed_at) or utcnow()
        template = CredentialTemplate(achievement, issuer_profile(achievement, tenant.did), issued=issued)
        return Signer(BatchDocuments(template, []), identity_of(tenant, self.box), xsd_now(issued))

    def _build_tree(self, batch_id: str) -> None:
        with self.sessions() as s:
            rows = s.execute(select(CredentialRecord.position, CredentialRecord.leaf)
                             .where(CredentialRecord.batch_id == batch_id)
                             .order_by(CredentialRecord.position)).all()
        if [p for p, _ in rows] != list(range(len(rows))) or any(leaf is None for _, leaf in rows) or not rows:
            raise _BatchFault(f"the batch's {len(rows)} credentials are not all signed at positions 0..n-1")
        tree = build_tree([bytes.fromhex(leaf) for _, leaf in rows])
        self._transition(batch_id, BatchState.TREE_BUILT, merkle_root=tree.root.hex(), stage="tree")

    # ── anchoring ───────────────────────────────────────────────────────────────────────────────────────────────
    def _send(self, batch_id: str, *, replacing: str | None = None) -> None:
        with self.sessions() as s:
            batch = s.get(Batch, batch_id)
            tenant = s.get(Tenant, batch.tenant_id)
            root = bytes.fromhex(batch.merkle_root)
            identity = identity_of(tenant, self.box)
            tenant_id = tenant.id
        address = identity.anchoring_address
        if replacing is None:
            record = self.ledger.anchor_of(root)
            if record is not None:
                raise _BatchFault(f"root {root.hex()} is already anchored (by {record[0]} at {record[1].isoformat()}) "
                                  "though this batch recorded no transaction; nothing sent")
        self.ledger.ensure_funds(address)
        for _ in range(5):
            with self.sessions() as s:
                floor = self._stored_nonce(s, address)
            nonce = max(self.ledger.pending_nonce(address), floor + 1)
            try:
                prepared = self.ledger.prepare_anchor(identity.secp256k1_secret, root, nonce=nonce)
            except AlreadyAnchoredError as exc:
                raise _BatchFault(f"root {root.hex()} was anchored by {exc.sender} meanwhile; nothing sent") from None
            with self.sessions.begin() as s:
                # The tenant's row lock serializes nonce choices of its batches across runners (PostgreSQL;
                # SQLite's BEGIN IMMEDIATE already does).
                s.execute(select(Tenant.id).where(Tenant.id == tenant_id).with_for_update())
                if self._stored_nonce(s, address) >= nonce:
                    continue  # another batch of this tenant took the nonce meanwhile: choose again
                note = f"replaced {replacing} (its nonce was used by another transaction)" if replacing else None
                self._save(s, batch_id, state=BatchState.ANCHOR_SENT, chain_id=self.ledger.chain_id,
                           anchoring_address=address, nonce=prepared.nonce, raw_tx=prepared.raw,
                           tx_hash=prepared.tx_hash, stage="anchoring", error=note)
            break
        else:
            raise IssuerLedgerError(f"batch {batch_id}: no free nonce for {address} after 5 tries")
        self._event("persisted:anchor_sent", batch_id)
        self.ledger.broadcast(prepared.raw)
        self._event("broadcast", batch_id)

    def _stored_nonce(self, s: Session, address: str) -> int:
        last = s.scalar(select(func.max(Batch.nonce)).where(Batch.anchoring_address == address,
                                                             Batch.chain_id == self.ledger.chain_id))
        return -1 if last is None else int(last)

    def _follow(self, batch_id: str) -> None:
        with self.sessions() as s:
            batch = s.get(Batch, batch_id)
            tx_hash, raw, nonce, root = batch.tx_hash, batch.raw_tx, batch.nonce, bytes.fromhex(batch.merkle_root)
            address = batch.anchoring_address
        mined = self.ledger.receipt(tx_hash)
        if mined is not None and not mined.succeeded:
            if self._adopt_registry_transaction(batch_id, root, tx_hash):
                return
            raise _BatchFault(f"anchoring transaction {tx_hash} was mined but reverted")
        if mined is not None:
            if mined.confirmations < self.confirmations:
                with self.sessions.begin() as s:
                    self._save(s, batch_id, stage=f"confirming {mined.confirmations}/{self.confirmations}",
                               block_number=mined.block_number, block_hash=mined.block_hash)
                self.ledger.wait()
                return
            self._transition(batch_id, BatchState.CONFIRMED, stage="confirmed", block_number=mined.block_number,
                             block_hash=mined.block_hash, block_time=mined.block_time, gas_used=mined.gas_used)
            return
        # Not mined (as far as this node knows).
        if self._adopt_registry_transaction(batch_id, root, tx_hash):
            return
        if self.ledger.is_pending(tx_hash):
            self.ledger.wait()
            return
        if self.ledger.mined_nonce(address) > nonce:
            # Our nonce is used, by a transaction that is not ours (ours is not mined): is the root anchored anyway?
            if self.ledger.receipt(tx_hash) is None and self.ledger.anchor_of(root) is None:
                log.warning("batch %s: transaction %s is gone (nonce %s used by another); signing a new one",
                            batch_id, tx_hash, nonce)
                self._send(batch_id, replacing=tx_hash)
            return
        self.ledger.broadcast(raw)  # unknown to the node: the same bytes again (a crash before, or a dropped tx)
        self._event("rebroadcast", batch_id)
        self.ledger.wait()

    def _adopt_registry_transaction(self, batch_id: str, root: bytes, tx_hash: str) -> bool:
        """If the registry holds the root through another transaction than ours, follow that one instead."""
        record = self.ledger.anchor_of(root)
        if record is None:
            return False
        found = self.ledger.find_anchor_transaction(root)
        if found is None or found.lower() == tx_hash.lower():
            return False
        sender, when = record
        with self.sessions() as s:
            ours = s.get(Batch, batch_id).anchoring_address
        if sender.lower() != (ours or "").lower():
            raise _BatchFault(f"root anchored by {sender}, not by this issuer's address {ours} (transaction {found})")
        with self.sessions.begin() as s:
            self._save(s, batch_id, tx_hash=found, error=f"anchored by transaction {found} (sender {sender}, "
                       f"{when.isoformat()}) instead of the stored {tx_hash}")
        self._event("adopted", batch_id)
        return True

    # ── delivery ────────────────────────────────────────────────────────────────────────────────────────────────
    def _deliver(self, batch_id: str) -> None:
        with self.sessions() as s:
            batch = s.get(Batch, batch_id)
            tenant = s.get(Tenant, batch.tenant_id)
            identity = identity_of(tenant, self.box)
            leaves = s.scalars(select(CredentialRecord.leaf).where(CredentialRecord.batch_id == batch_id)
                               .order_by(CredentialRecord.position)).all()
            chain_id, tx_hash, block_time = batch.chain_id, batch.tx_hash, _aware(batch.block_time)
            root = batch.merkle_root
        tree = build_tree([bytes.fromhex(leaf) for leaf in leaves])
        if tree.root.hex() != root:
            raise _BatchFault(f"leaves give root {tree.root.hex()}, the batch anchored {root}")
        anchor = Anchor("eth", chain_id, tx_hash)
        method = anchoring_method(identity, chain_id)
        created = xsd_now(block_time)
        position = 0
        while position < len(leaves):
            with self.sessions() as s:
                rows = s.execute(select(CredentialRecord.id, CredentialRecord.position, CredentialRecord.document)
                                 .where(CredentialRecord.batch_id == batch_id,
                                        CredentialRecord.position >= position,
                                        CredentialRecord.position < position + self.chunk)
                                 .order_by(CredentialRecord.position)).all()
                s.rollback()
            updates = []
            for cid, pos, document in rows:
                proof = document.get("proof")
                if isinstance(proof, list):
                    continue  # delivered before a crash
                merkle = merkle_proof(tree=tree, index=pos, leaf=bytes.fromhex(leaves[pos]), anchor=anchor,
                                      method=method, created=created, previous_proof=proof["id"])
                updates.append((cid, {**document, "proof": [proof, merkle]}))
            position += self.chunk
            with self.sessions.begin() as s:
                self._save(s, batch_id, stage="delivering", done=min(position, len(leaves)))
                for cid, document in updates:
                    s.execute(update(CredentialRecord).where(CredentialRecord.id == cid)
                              .values(document=document).execution_options(synchronize_session=False))
            self._event("chunk:delivered", batch_id)
        with self.sessions() as s:
            note = s.get(Batch, batch_id).error
        if note and note.startswith(RETRYING):
            note = None  # a ledger hiccup that passed; notes about replaced transactions stay
        self._transition(batch_id, BatchState.DELIVERED, stage="delivered", done=len(leaves), error=note,
                         lease_owner=None, lease_until=None)


class _BatchFault(IssuerError):
    """The batch cannot go on; it is marked failed with this reason."""


def _salt() -> str:
    return secrets.token_hex(16)
