"""The anchoring states of the batch runner (``tree_built`` -> ``anchor_sent`` -> ``confirmed``), apart from the
rest of the runner (``issuer.store.runner``) because they hold the rules that keep a root from being anchored twice:

- the transaction is signed, stored with its nonce and raw bytes, and only then broadcast;
- on resume: mined -> wait for k confirmations; the registry shows the root through another transaction -> follow
  that one (recorded); pending -> wait; unknown to the node -> rebroadcast the same bytes;
- a second transaction is signed only when the first is provably gone: its nonce is used by another mined transaction
  and the registry does not hold the root;
- nonce = max(the node's pending count, the last nonce stored for the address + 1), chosen under the tenant's row lock.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from issuer.errors import IssuerError
from issuer.ledger.errors import AlreadyAnchoredError, IssuerLedgerError
from issuer.ledger.provider import LedgerProvider
from issuer.store.models import Batch, BatchState, Tenant
from issuer.store.nonces import last_stored_nonce
from issuer.store.secrets import SecretBox
from issuer.store.tenants import identity_of

__all__ = ["AnchoringSteps", "BatchFault"]

log = logging.getLogger("anchorcred.issuer.runner")

NONCE_TRIES = 5


class BatchFault(IssuerError):
    """The batch cannot go on; the runner marks it failed with this reason."""


class AnchoringSteps:
    """Mixed into ``BatchRunner``, which provides the attributes and the lease-checked writes used here."""

    sessions: sessionmaker[Session]
    box: SecretBox
    ledger: LedgerProvider
    confirmations: int

    if TYPE_CHECKING:  # LeasedWorker's, ahead of this mixin in BatchRunner's bases
        def _save(self, s: Session, batch_id: str, **values: Any) -> None: ...

        def _event(self, event: str, batch_id: str) -> None: ...

        def _transition(self, batch_id: str, state: BatchState, **values: Any) -> None: ...

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
                raise BatchFault(f"root {root.hex()} is already anchored (by {record[0]} at {record[1].isoformat()}) "
                                  "though this batch recorded no transaction; nothing sent")
        self.ledger.ensure_funds(address)
        for _ in range(NONCE_TRIES):
            with self.sessions() as s:
                floor = self._stored_nonce(s, address)
            nonce = max(self.ledger.pending_nonce(address), floor + 1)
            try:
                prepared = self.ledger.prepare_anchor(identity.secp256k1_secret, root, nonce=nonce)
            except AlreadyAnchoredError as exc:
                raise BatchFault(f"root {root.hex()} was anchored by {exc.sender} meanwhile; nothing sent") from None
            with self.sessions.begin() as s:
                # The tenant's row lock serializes nonce choices of its batches across runners (PostgreSQL;
                # SQLite's BEGIN IMMEDIATE already does).
                s.execute(select(Tenant.id).where(Tenant.id == tenant_id).with_for_update())
                if s.scalar(select(Tenant.anchoring_address).where(Tenant.id == tenant_id)) != address:
                    # Rotated meanwhile (issuer.store.keyevents): never anchor from a retired address.
                    raise IssuerLedgerError(f"batch {batch_id}: the tenant's anchoring key was rotated meanwhile; "
                                            "anchoring with the new one")
                if self._stored_nonce(s, address) >= nonce:
                    continue  # another batch of this tenant took the nonce meanwhile: choose again
                note = f"replaced {replacing} (its nonce was used by another transaction)" if replacing else None
                self._save(s, batch_id, state=BatchState.ANCHOR_SENT, chain_id=self.ledger.chain_id,
                           anchoring_address=address, nonce=prepared.nonce, raw_tx=prepared.raw,
                           tx_hash=prepared.tx_hash, stage="anchoring", error=note)
            break
        else:
            raise IssuerLedgerError(f"batch {batch_id}: no free nonce for {address} after {NONCE_TRIES} tries")
        self._event("persisted:anchor_sent", batch_id)
        self.ledger.broadcast(prepared.raw)
        self._event("broadcast", batch_id)

    def _stored_nonce(self, s: Session, address: str) -> int:
        # Every transaction the service stored for the address (status publications share the key and its nonces).
        return last_stored_nonce(s, address, self.ledger.chain_id)

    def _follow(self, batch_id: str) -> None:
        with self.sessions() as s:
            batch = s.get(Batch, batch_id)
            tx_hash, raw, nonce, root = batch.tx_hash, batch.raw_tx, batch.nonce, bytes.fromhex(batch.merkle_root)
            address = batch.anchoring_address
        mined = self.ledger.receipt(tx_hash)
        if mined is not None and not mined.succeeded:
            if self._adopt_registry_transaction(batch_id, root, tx_hash):
                return
            raise BatchFault(f"anchoring transaction {tx_hash} was mined but reverted")
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
            raise BatchFault(f"root anchored by {sender}, not by this issuer's address {ours} (transaction {found})")
        with self.sessions.begin() as s:
            self._save(s, batch_id, tx_hash=found, error=f"anchored by transaction {found} (sender {sender}, "
                       f"{when.isoformat()}) instead of the stored {tx_hash}")
        self._event("adopted", batch_id)
        return True

