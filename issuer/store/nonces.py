"""The last nonce this service stored for an address, across everything it sends from a tenant's anchoring key:
batch anchors (``batches``), status list publications (``status_publications``) and key events
(``tenant_key_events``).

A transaction is stored (with its nonce) before it is broadcast, so the node's pending count does not know it yet;
the next nonce is therefore max(the node's pending count, this + 1), chosen under the tenant's row lock
(``issuer.store.anchoring``, ``issuer.status.publisher``). A table that adds another kind of transaction from the same
key adds its query here.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from issuer.store.models import Batch, StatusPublication, TenantKeyEvent

__all__ = ["last_stored_nonce"]


def last_stored_nonce(session: Session, address: str, chain_id: int) -> int:
    """The highest nonce stored for ``address`` on ``chain_id``, or -1 when none is."""
    highest = -1
    for table in (Batch, StatusPublication, TenantKeyEvent):
        last = session.scalar(select(func.max(table.nonce)).where(table.anchoring_address == address,
                                                                  table.chain_id == chain_id))
        if last is not None:
            highest = max(highest, int(last))
    return highest
