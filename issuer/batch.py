"""Issue a batch: sign every credential, build the Merkle tree, anchor its root in one transaction, write the proofs.

    1. sign      each credential gets an eddsa-rdfc-2022 proof; its leaf is SHA-256 of the canonical N-Quads of the
                 document with that proof (DESIGN.md, "Canonical hashing"). Parallel over worker processes.
    2. tree      Chainpoint-style tree over the leaves.
    3. anchor    one ledger transaction carries the root.
    4. prove     each credential gets its merkle-proof-2019 proof, chained with previousProof, and is written out.

Nothing is written until the root is anchored, so a failed anchor leaves no half-issued credential behind; files are
written under fresh names (the credential's UUID) and never overwrite an earlier batch.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from issuer.achievement import Achievement
from issuer.credential import CredentialTemplate, IssuerProfile
from issuer.keys import IssuerIdentity
from issuer.roster import Learner
from issuer.ledger.base import AnchorReceipt, LedgerWriter
from verifier import keys as vkeys
from verifier.canonical import Canonicalizer
from verifier.dataintegrity import create_eddsa_proof
from verifier.merkle import MerkleTree, build_tree
from verifier.merkleproof import Anchor, MerkleProof2019, encode_proof_value, make_proof

Progress = Callable[[str, int, int], None]  # (stage, done, total)
CHUNK = 250


@dataclass(frozen=True)
class SignedCredential:
    head: str  # the credential's compact JSON without proofs and without its closing brace
    eddsa_proof: dict[str, Any]
    leaf: bytes


@dataclass(frozen=True)
class BatchResult:
    count: int
    merkle_root: bytes
    receipt: AnchorReceipt
    ledger_label: str
    out_dir: Path
    files: tuple[Path, ...]
    did_document: Path | None
    manifest: Path

    @property
    def gas_per_credential(self) -> float:
        return self.receipt.gas_used / self.count


def issuer_profile(achievement: Achievement, issuer_did: str) -> IssuerProfile:
    body = achievement.awarding_body
    return IssuerProfile(
        id=issuer_did, name=body.name, url=body.url, country_code=body.country_code,
        region=body.region, locality=body.locality, email=body.email,
    )


class BatchDocuments(Sequence[dict[str, Any]]):
    """The unsigned credentials of a batch, built on access from one shared template.

    Ids and salts are drawn up front, so the same index always builds the same credential; building is left to
    whoever reads it (the signing workers, in parallel) instead of the parent process.
    """

    def __init__(self, template: CredentialTemplate, learners: Sequence[Learner]):
        self.template = template
        self.learners = list(learners)
        self.ids = [f"urn:uuid:{uuid.uuid4()}" for _ in self.learners]
        self.salts = [secrets.token_hex(16) for _ in self.learners]

    def __len__(self) -> int:
        return len(self.learners)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        # Shared achievement and issuer parts: the batch pipeline never modifies a credential it signs.
        return self.template.build(self.learners[i], credential_id=self.ids[i], salt=self.salts[i], copy=False)


def build_documents(achievement: Achievement, learners: Sequence[Learner], *, issuer_did: str, issued: datetime) -> BatchDocuments:
    """The unsigned credentials of a batch: one shared template, a fresh UUID and salt per learner."""
    return BatchDocuments(CredentialTemplate(achievement, issuer_profile(achievement, issuer_did), issued=issued), learners)


# ── 1. sign (in worker processes; state is inherited by fork, not pickled) ──────────────────────────────────────
_STATE: dict[str, Any] = {}


def _sign_range(bounds: tuple[int, int]) -> list[SignedCredential]:
    docs: Sequence[dict[str, Any]] = _STATE["docs"]
    identity: IssuerIdentity = _STATE["identity"]
    created: str = _STATE["created"]
    canon: Canonicalizer = _STATE.setdefault("canon", Canonicalizer())
    sign = _STATE.setdefault("sign", identity.signer())
    out = []
    for i in range(*bounds):
        doc = docs[i]
        # Canonicalize the document once: its canonical form is signed, and its shape is extended by the proof for
        # the leaf (the document with its signature, DESIGN.md "Canonical hashing").
        shaped = canon.shape(doc)
        proof = create_eddsa_proof(
            doc,
            sign=sign,
            verification_method=identity.signing_method,
            created=created,
            proof_id=f"urn:uuid:{uuid.uuid4()}",
            canon=canon,
            unsecured_canonical=canon.canonicalize_shaped(shaped),
        )
        leaf = hashlib.sha256(canon.canonicalize_shaped(canon.extend(shaped, "proof", proof)).encode("utf-8")).digest()
        # Compact JSON: json's C encoder does not indent, and indenting costs more than signing.
        out.append(SignedCredential(json.dumps(doc, ensure_ascii=False, separators=(",", ":"))[:-1], proof, leaf))
    return out


def sign_all(
    docs: Sequence[dict[str, Any]], identity: IssuerIdentity, *, created: str, workers: int, progress: Progress | None
) -> list[SignedCredential]:
    _STATE.clear()
    _STATE.update(docs=docs, identity=identity, created=created)
    ranges = [(i, min(i + CHUNK, len(docs))) for i in range(0, len(docs), CHUNK)]
    results: list[SignedCredential] = []
    try:
        if workers <= 1 or len(ranges) == 1:
            for r in ranges:
                results.extend(_sign_range(r))
                if progress:
                    progress("sign", len(results), len(docs))
        else:
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                for chunk in pool.imap(_sign_range, ranges):
                    results.extend(chunk)
                    if progress:
                        progress("sign", len(results), len(docs))
    finally:
        _STATE.clear()
    return results


# ── 4. prove and write ───────────────────────────────────────────────────────────────────────────────────────────
def _anchoring_method(identity: IssuerIdentity) -> str:
    if identity.anchoring_method is not None:
        return identity.anchoring_method
    mk = vkeys.encode_multikey(vkeys.PublicKey("secp256k1", identity.secp256k1_public))
    return f"did:key:{mk}#{mk}"


def _prove_range(bounds: tuple[int, int]) -> int:
    signed: Sequence[SignedCredential] = _STATE["signed"]
    tree: MerkleTree = _STATE["tree"]
    names: Sequence[str] = _STATE["names"]
    out_dir: Path = _STATE["out_dir"]
    for i in range(*bounds):
        s = signed[i]
        proof_value = encode_proof_value(MerkleProof2019(tree.root, s.leaf, tree.path(i), (_STATE["anchor"],)))
        merkle = make_proof(
            proof_value=proof_value, verification_method=_STATE["method"], created=_STATE["created"],
            previous_proof=s.eddsa_proof["id"],
        )
        proofs = json.dumps([s.eddsa_proof, merkle], ensure_ascii=False, separators=(",", ":"))
        _write_new(out_dir / names[i], f'{s.head},"proof":{proofs}}}\n')
    return bounds[1] - bounds[0]


def write_all(
    signed: Sequence[SignedCredential], tree: MerkleTree, out_dir: Path, names: Sequence[str], *,
    anchor: Anchor, method: str, created: str, workers: int, progress: Progress | None,
) -> list[Path]:
    """Add each credential's merkle-proof-2019 proof and write it (in worker processes, like signing)."""
    _STATE.clear()
    _STATE.update(signed=signed, tree=tree, names=names, out_dir=out_dir, anchor=anchor, method=method, created=created)
    ranges = [(i, min(i + CHUNK, len(signed))) for i in range(0, len(signed), CHUNK)]
    done = 0
    try:
        if workers <= 1 or len(ranges) == 1:
            results = map(_prove_range, ranges)
            for n in results:
                done += n
                if progress:
                    progress("write", done, len(signed))
        else:
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                for n in pool.imap_unordered(_prove_range, ranges):
                    done += n
                    if progress:
                        progress("write", done, len(signed))
    finally:
        _STATE.clear()
    return [out_dir / n for n in names]


def _write_new(path: Path, text: str) -> None:
    # O_EXCL: an earlier credential is never overwritten, whatever the name clash.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)


def issue_batch(
    docs: Sequence[dict[str, Any]],
    *,
    identity: IssuerIdentity,
    writer: LedgerWriter,
    ledger_label: str,
    out_dir: Path,
    created: str,
    workers: int | None = None,
    progress: Progress | None = None,
    file_names: Sequence[str] | None = None,
) -> BatchResult:
    if not docs:
        raise ValueError("a batch needs at least one credential")
    workers = workers or min(os.cpu_count() or 1, 4)
    signed = sign_all(docs, identity, created=created, workers=workers, progress=progress)

    tree = build_tree([s.leaf for s in signed])
    if progress:
        progress("anchor", 0, 1)
    receipt = writer.anchor(tree.root)
    if progress:
        progress("anchor", 1, 1)

    out_dir.mkdir(parents=True, exist_ok=True)
    ids = docs.ids if isinstance(docs, BatchDocuments) else [d["id"] for d in docs]
    names = list(file_names) if file_names else [f"{cid.rsplit(':', 1)[-1]}.json" for cid in ids]
    files = write_all(
        signed, tree, out_dir, names,
        anchor=Anchor("eth", receipt.chain_id, receipt.tx_hash),
        method=_anchoring_method(identity), created=created, workers=workers, progress=progress,
    )

    did_path: Path | None = None
    if not identity.did.startswith("did:key:"):
        # Where did:web puts it (did:web spec §3.2), and out of the way of `anchorcred verify out/*.json`.
        did_path = out_dir / ".well-known" / "did.json"
        did_path.parent.mkdir(exist_ok=True)
        did_path.write_text(json.dumps(identity.did_document(receipt.chain_id), indent=2) + "\n", "utf-8")
    manifest = out_dir / ".batches" / f"{tree.root.hex()[:16]}.json"
    manifest.parent.mkdir(exist_ok=True)
    manifest.write_text(
        json.dumps(
            {
                "merkle_root": tree.root.hex(),
                "count": len(signed),
                "ledger": ledger_label,
                "chain_id": receipt.chain_id,
                "transaction": receipt.tx_hash,
                "block": receipt.block_number,
                "gas_used": receipt.gas_used,
                "mode": receipt.mode,
                "issuer": identity.did,
                "credentials": [p.name for p in files],
            },
            indent=2,
        )
        + "\n",
        "utf-8",
    )
    return BatchResult(len(signed), tree.root, receipt, ledger_label, out_dir, tuple(files), did_path, manifest)
