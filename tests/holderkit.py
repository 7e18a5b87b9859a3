"""Presentations for tests: a learner with a did:key, a small batch issued to it, and VPs it signs.

The example roster's learners have DIDs whose keys nobody holds, so presentation tests issue their own small batch
on the embedded chain: credential 0 is issued to the holder's did:key, credential 1 to a learner without a DID
(subject without ``id``), credential 2 to another learner's did:key.
"""

from __future__ import annotations

import copy
import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from eth_account import Account

from tests.batchkit import EXAMPLES, IssuedBatch, issue_example_batch
from verifier.dataintegrity import create_eddsa_proof
from verifier.keys import did_key_from_ed25519

VC2 = "https://www.w3.org/ns/credentials/v2"
CREATED = "2025-07-01T10:00:00Z"


@dataclass(frozen=True)
class Holder:
    key: Ed25519PrivateKey

    @property
    def did(self) -> str:
        raw = self.key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return did_key_from_ed25519(raw)

    @property
    def method(self) -> str:
        return f"{self.did}#{self.did.removeprefix('did:key:')}"

    def present(self, credentials: list[dict[str, Any]], *, challenge: str | None = None, domain: str | None = None,
                purpose: str = "authentication", holder: str | None = "self", **proof_fields: Any) -> dict[str, Any]:
        """A VP of ``credentials`` signed by this holder (eddsa-rdfc-2022), with ``challenge``/``domain`` in the proof."""
        vp: dict[str, Any] = {"@context": [VC2], "type": ["VerifiablePresentation"],
                              "verifiableCredential": copy.deepcopy(credentials)}
        if holder is not None:
            vp["holder"] = self.did if holder == "self" else holder
        return sign_presentation(vp, self.key, self.method, challenge=challenge, domain=domain, purpose=purpose,
                                 **proof_fields)


def sign_presentation(vp: dict[str, Any], key: Ed25519PrivateKey, method: str, *, challenge: str | None = None,
                      domain: str | None = None, purpose: str = "authentication", **proof_fields: Any) -> dict[str, Any]:
    """``vp`` with a DataIntegrityProof over it; the challenge and domain are proof options (VC DI 1.0 §2.1), signed."""
    vp = {k: v for k, v in vp.items() if k != "proof"}
    options = {**({"challenge": challenge} if challenge is not None else {}),
               **({"domain": domain} if domain is not None else {}), **proof_fields}
    proof = create_eddsa_proof(vp, sign=key.sign, verification_method=method, created=CREATED, proof_purpose=purpose,
                               options=options)
    return {**vp, "proof": proof}


def holder_batch(out_dir: Path, holder: Holder, other: Holder) -> IssuedBatch:
    """Three credentials on the embedded chain: to ``holder``, to a learner without a DID, to ``other``."""
    return batch_to_dids(out_dir, holder.did, other.did)[1]


def batch_to_dids(out_dir: Path, holder_did: str, other_did: str) -> tuple[Any, IssuedBatch]:
    """Three credentials on a fresh embedded chain: [0] to ``holder_did``, [1] to a learner without a DID, [2] to
    ``other_did`` (the example roster's first three rows). Returns (chain, batch)."""
    from issuer.ledger.embedded import EmbeddedChain

    with (EXAMPLES / "roster.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))[:3]
    rows[0]["learner_did"], rows[1]["learner_did"], rows[2]["learner_did"] = holder_did, "", other_did
    roster = out_dir.parent / "holder-roster.csv"
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    roster.parent.mkdir(parents=True, exist_ok=True)
    roster.write_text(buf.getvalue(), "utf-8")
    chain = EmbeddedChain()

    def ledger_writer(identity):
        account = Account.from_key(identity.secp256k1_secret)
        chain.fund(account.address, 10**18)
        return chain.writer(account, mode="contract")

    batch = issue_example_batch(out_dir, ledger_writer, chain_id=chain.chain_id, reader=chain.reader(), roster=roster)
    return chain, batch
