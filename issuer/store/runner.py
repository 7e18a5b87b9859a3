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
import secrets
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from issuer.achievement import parse_achievement
from issuer.batch import BatchDocuments, Signer, anchoring_method, issuer_profile, merkle_proof
from issuer.credential import CredentialTemplate
from issuer.ledger.errors import IssuerLedgerError
from issuer.ledger.provider import LedgerProvider
from issuer.status.allocation import status_entries_of
from issuer.store.anchoring import AnchoringSteps, BatchFault
from issuer.store.issuance import learner_from_dict, utcnow, xsd_now
from issuer.store.leased import Hook, LeasedWorker, aware, lasting_note
from issuer.store.models import TERMINAL_STATES, AchievementRecord, Batch, BatchState, CredentialRecord, Tenant
from issuer.store.secrets import SecretBox
from issuer.store.tenants import identity_of
from verifier.merkle import build_tree
from verifier.merkleproof import Anchor

__all__ = ["BatchRunner", "Hook"]


class BatchRunner(LeasedWorker, AnchoringSteps):
    """Driving, leases and failures come from ``LeasedWorker``; the anchoring states from ``AnchoringSteps``."""

    model = Batch
    noun = "batch"
    name = "batch runner"
    log = logging.getLogger("anchorcred.issuer.runner")

    def __init__(self, sessions: sessionmaker[Session], box: SecretBox, ledger: LedgerProvider, *,
                 confirmations: int = 1, seal_after: float = 60.0, seal_at: int = 1000, worker_id: str | None = None,
                 lease_seconds: float = 60.0, chunk: int = 50, poll_interval: float = 0.5,
                 hook: Hook | None = None):
        if confirmations < 1:
            raise ValueError(f"confirmations must be >= 1, got {confirmations}")
        if seal_at < 1 or chunk < 1 or seal_after < 0 or lease_seconds <= 0:
            raise ValueError("seal_at and chunk must be >= 1, seal_after >= 0, lease_seconds > 0")
        super().__init__(sessions, box, ledger, confirmations=confirmations, worker_id=worker_id,
                         lease_seconds=lease_seconds, poll_interval=poll_interval, hook=hook)
        self.seal_after = seal_after
        self.seal_at = seal_at
        self.chunk = chunk

    def _candidates(self, now: datetime) -> Sequence[tuple[str, Enum, str | None, datetime | None]]:
        """Unfinished batches, oldest first; an open one only once it is full or old enough to seal."""
        with self.sessions() as s:
            rows = s.execute(
                select(Batch.id, Batch.state, Batch.total, Batch.created_at, Batch.lease_owner, Batch.lease_until)
                .where(Batch.state.not_in(TERMINAL_STATES)).order_by(Batch.created_at, Batch.id)
            ).all()
            s.rollback()
        young = now - timedelta(seconds=self.seal_after)
        return [(bid, state, owner, until) for bid, state, total, created, owner, until in rows
                if not (state is BatchState.OPEN and total < self.seal_at and aware(created) > young)]

    def _handlers(self) -> dict[Any, Callable[[str], None]]:
        return {
            BatchState.OPEN: self._seal,
            BatchState.SEALED: self._sign,
            BatchState.SIGNED: self._build_tree,
            BatchState.TREE_BUILT: self._send,
            BatchState.ANCHOR_SENT: self._follow,
            BatchState.CONFIRMED: self._deliver,
        }

    def _fail(self, batch_id: str, reason: str) -> None:
        self._transition(batch_id, BatchState.FAILED, error=reason, stage="failed", lease_owner=None,
                         lease_until=None)

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
                    signing_key = s.scalar(select(Tenant.signing_key_enc).where(Tenant.id == batch.tenant_id))
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
                # The tenant's row lock first (as a key change takes it, then the batch's): a signing key rotated or
                # revoked while this chunk was signed must not sign it (a revocation failed only the batches that
                # held its signatures then); the next step signs it again with the current key.
                if s.scalar(select(Tenant.signing_key_enc).where(Tenant.id == Batch.tenant_id, Batch.id == batch_id)
                            .with_for_update(of=Tenant)) != signing_key:
                    raise IssuerLedgerError(f"batch {batch_id}: the tenant's signing key changed while a chunk was "
                                            "signed; signing it again with the current key")
                self._save(s, batch_id, stage="signing")  # the lease: it also locks the batch row
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
        issued = aware(batch.sealed_at) or utcnow()
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
            chain_id, tx_hash, block_time = batch.chain_id, batch.tx_hash, aware(batch.block_time)
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
            note = lasting_note(s.get(Batch, batch_id).error)
        self._transition(batch_id, BatchState.DELIVERED, stage="delivered", done=len(leaves), error=note,
                         lease_owner=None, lease_until=None)


def _salt() -> str:
    return secrets.token_hex(16)
