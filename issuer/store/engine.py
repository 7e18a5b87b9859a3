"""The issuer service's engine: batches, the VC-API issuance, and the runner that signs, anchors and delivers.

One import for the service (``issuer.service``); the parts live in ``issuer.store.issuance`` (putting credentials
into batches, reading them), ``issuer.store.runner`` (the persisted state machine) and ``issuer.ledger.provider``
(what the runner needs from a ledger, for the embedded chain and any EVM JSON-RPC node).
"""

from __future__ import annotations

from issuer.ledger.provider import EvmLedger, LedgerProvider, MinedTransaction, rpc_ledger
from issuer.store.errors import CredentialPendingError, IssuanceError, LeaseLostError
from issuer.store.issuance import batch_progress, create_roster_batch, issue_credential, latest_document
from issuer.store.runner import BatchRunner, Hook

__all__ = [
    "BatchRunner", "CredentialPendingError", "EvmLedger", "Hook", "IssuanceError", "LeaseLostError", "LedgerProvider",
    "MinedTransaction", "batch_progress", "create_roster_batch", "issue_credential", "latest_document", "rpc_ledger",
]
