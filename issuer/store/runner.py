"""The batch runner: drives each batch through its persisted state machine (``issuer.store.models.BatchState``).

    open ─seal─▶ sealed ─sign─▶ signed ─tree─▶ tree_built ─store tx, then broadcast─▶ anchor_sent
         ─k confirmations─▶ confirmed ─add merkle proofs─▶ delivered           (any ─▶ failed, with the reason)

Every transition is written before its side effect, in short transactions (nothing slow runs inside one): a runner
killed at any point leaves a state another runner resumes from. The rules that keep it exactly-once:

- signing writes a credential's document only where it is still NULL (a chunk is signed again after a crash, never
  stored twice); delivery adds the merkle proof only to a document that lacks it;
- the anchoring transaction is stored (nonce, raw bytes) before it is broadcast, and a root is never anchored twice:
  the rules are in ``issuer.store.anchoring``;
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
from issuer.ledger.errors import IssuerLedgerError
from issuer.ledger.provider import LedgerProvider
from issuer.status.allocation import status_entries_of
from issuer.store.anchoring import AnchoringSteps, BatchFault
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


class BatchRunner(AnchoringSteps):
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
                statuses = status_entries_of(s, [cid for cid, _, _ in todo]) if todo else {}
                s.rollback()
            if not todo:
                break
            signed = []
            for cid, _position, learner in todo:  # outside any transaction: this is the slow part
                doc = signer.docs.template.build(learner_from_dict(learner), credential_id=cid,
                                                 salt=_salt(), status=statuses.get(cid))
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
            raise BatchFault("a VC-API batch holds an unsigned credential (it cannot be signed without its "
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
            raise BatchFault(f"the batch's {len(rows)} credentials are not all signed at positions 0..n-1")
        tree = build_tree([bytes.fromhex(leaf) for _, leaf in rows])
        self._transition(batch_id, BatchState.TREE_BUILT, merkle_root=tree.root.hex(), stage="tree")

    # ── delivery ────────────────────────────────────────────────────────────────────────────────────────────────
    def _deliver(self, batch_id: str) -> None:
        with self.sessions() as s:
            batch = s.get(Batch, batch_id)
            tenant = s.get(Tenant, batch.tenant_id)
            identity = identity_of(tenant, self.box)
            leaves = s.scalars(select(CredentialRecord.leaf).where(CredentialRecord.batch_id == batch_id)
                               .order_by(CredentialRecord.position)).all()
            chain_id, tx_hash, block_time = batch.chain_id, batch.tx_hash, _aware(batch.block_time)
            sender = batch.anchoring_address
            root = batch.merkle_root
        tree = build_tree([bytes.fromhex(leaf) for leaf in leaves])
        if tree.root.hex() != root:
            raise BatchFault(f"leaves give root {tree.root.hex()}, the batch anchored {root}")
        anchor = Anchor("eth", chain_id, tx_hash)
        method = anchoring_method(identity, chain_id, sender)  # the sender's method, even if rotated out since
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


def _salt() -> str:
    return secrets.token_hex(16)
