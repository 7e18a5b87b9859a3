"""The verifier of the store's anvil tests: it reads the ledger over JSON-RPC, as a deployed verifier would, and
knows the tenant's DID document as the service serves it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session, sessionmaker

from issuer.ledger.provider import EvmLedger
from issuer.store.models import Tenant
from issuer.store.secrets import SecretBox
from issuer.store.tenants import did_document
from verifier.did import DidResolver
from verifier.ledger.evm import EvmReader, HttpTransport, LedgerRouter
from verifier.verify import Verifier, VerifierOptions


@contextmanager
def rpc_verifier(sessions: sessionmaker[Session], box: SecretBox, tenant_id: int, ledger: EvmLedger,
                 rpc_url: str) -> Iterator[Verifier]:
    """A verifier of ``ledger``'s chain at ``rpc_url`` (its registry) that resolves the tenant's DID; the HTTP
    connection closes on exit."""
    with sessions() as s:
        doc = did_document(s.get(Tenant, tenant_id), box, [ledger.chain_id])
    resolver = DidResolver()
    resolver.add(doc, "tenant did.json")
    with HttpTransport(rpc_url) as transport:
        reader = EvmReader(transport, chain_id=ledger.chain_id, registry_address=ledger.registry_address)
        yield Verifier(ledger=LedgerRouter({ledger.chain_id: reader}), did_resolver=resolver,
                       options=VerifierOptions())
