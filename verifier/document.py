"""Parse a credential once, on the way in: its proofs, told apart by cryptosuite, and the decoded Merkle proof.

Nothing here judges the credential; the checks do. Problems found while parsing are kept, so that the format check can
report them with their place, and later checks can skip with a reason instead of failing twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from verifier.errors import InvalidInputError, ProofFormatError
from verifier.merkleproof import MerkleProof2019, decode_proof_value, is_merkle_proof

EDDSA_SUITE = "eddsa-rdfc-2022"
MAX_PROOFS = 8  # a credential carries the eddsa signature and the anchor proof; more is suspicious, far more is abuse
MAX_DEPTH = 48  # nesting of objects and arrays; an EU credential needs under 10, recursion limits are far above this


@dataclass(frozen=True)
class ParsedCredential:
    document: dict[str, Any]
    eddsa_proof: dict[str, Any] | None
    merkle_proof: dict[str, Any] | None
    merkle: MerkleProof2019 | None
    problems: tuple[str, ...]  # structural problems with the proofs, each naming its place

    @property
    def issuer_id(self) -> str | None:
        issuer = self.document.get("issuer")
        if isinstance(issuer, dict):
            issuer = issuer.get("id")
        return issuer if isinstance(issuer, str) else None

    @property
    def credential_id(self) -> str | None:
        cid = self.document.get("id")
        return cid if isinstance(cid, str) else None


def parse_datetime(value: Any) -> datetime | None:
    """An XML Schema dateTime with a time zone (VCDM 2.0 §4.9), or None."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _depth(value: Any, limit: int = MAX_DEPTH + 1) -> int:
    """Nesting depth, counted iteratively (a hostile document must not exhaust the stack), capped at ``limit``."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        if deepest >= limit:
            return deepest
        stack.extend((child, level + 1) for child in children)
    return deepest


def proof_list(document: Mapping[str, Any]) -> list[Any]:
    """The document's proofs as a list, whatever they are (one object or an array); judging them is the caller's."""
    proof = document.get("proof")
    if proof is None:
        return []
    return proof if isinstance(proof, list) else [proof]


# The anchor proof is not itself signed (its leaf excludes it, as in Blockcerts), so every field it carries is held to
# exactly what merkle-proof-2019 allows; anything else is refused rather than silently trusted.
MERKLE_PROOF_FIELDS = {"id", "type", "cryptosuite", "proofPurpose", "verificationMethod", "created", "previousProof", "proofValue"}


def _merkle_proof_fields(proof: dict[str, Any], eddsa: dict[str, Any] | None) -> list[str]:
    problems = [f"merkle-proof-2019 proof: unexpected field {k!r}" for k in sorted(set(proof) - MERKLE_PROOF_FIELDS)]
    problems += [
        f"merkle-proof-2019 proof: missing field {k!r}"
        for k in ("proofPurpose", "verificationMethod", "created")
        if k not in proof
    ]
    if proof.get("type") == "DataIntegrityProof" and proof.get("proofPurpose") != "assertionMethod":
        problems.append(f"merkle-proof-2019 proofPurpose: expected 'assertionMethod', got {proof.get('proofPurpose')!r}")
    created = proof.get("created")
    when = parse_datetime(created)
    if created is not None and when is None:
        problems.append(f"merkle-proof-2019 created: expected an XML Schema dateTime with time zone, got {created!r}")
    if when is not None and eddsa is not None:
        signed = parse_datetime(eddsa.get("created"))
        if signed is not None and when < signed:
            problems.append(f"merkle-proof-2019 created {created} is before the signature's created {eddsa.get('created')}")
    vm = proof.get("verificationMethod")
    if vm is not None and not (isinstance(vm, str) and vm.startswith("did:")):
        problems.append(f"merkle-proof-2019 verificationMethod: expected a DID URL, got {vm!r}")
    return problems


def parse_credential(document: Any, *, network_labels: dict[str, int] | None = None) -> ParsedCredential:
    if not isinstance(document, dict):
        raise ProofFormatError(f"a credential must be a JSON object, got {type(document).__name__}")
    depth = _depth(document)
    if depth > MAX_DEPTH:
        raise InvalidInputError(f"a credential may nest objects and arrays {MAX_DEPTH} deep at most, this one {depth}+")
    problems: list[str] = []
    proofs = proof_list(document)
    if len(proofs) > MAX_PROOFS:
        problems.append(f"proof: at most {MAX_PROOFS} proofs are accepted, got {len(proofs)}")
        proofs = proofs[:MAX_PROOFS]
    eddsa: dict[str, Any] | None = None
    merkle_proof: dict[str, Any] | None = None
    for i, p in enumerate(proofs):
        where = f"proof[{i}]" if isinstance(document.get("proof"), list) else "proof"
        if not isinstance(p, dict):
            problems.append(f"{where}: expected an object, got {type(p).__name__}")
            continue
        if p.get("type") == "DataIntegrityProof" and p.get("cryptosuite") == EDDSA_SUITE:
            if eddsa is not None:
                problems.append(f"{where}: a second {EDDSA_SUITE} proof")
            eddsa = p
        elif is_merkle_proof(p):
            if merkle_proof is not None:
                problems.append(f"{where}: a second merkle-proof-2019 proof")
            merkle_proof = p
        else:
            problems.append(
                f"{where}: unsupported proof (type {p.get('type')!r}, cryptosuite {p.get('cryptosuite')!r}); "
                f"expected DataIntegrityProof with {EDDSA_SUITE} or merkle-proof-2019"
            )
    if eddsa is None:
        problems.append(f"proof: no DataIntegrityProof with cryptosuite {EDDSA_SUITE}")
    if merkle_proof is None:
        problems.append("proof: no merkle-proof-2019 anchor proof")
    merkle: MerkleProof2019 | None = None
    if merkle_proof is not None:
        value = merkle_proof.get("proofValue")
        if not isinstance(value, str):
            problems.append(f"merkle-proof-2019 proofValue: expected a string, got {type(value).__name__}")
        else:
            try:
                merkle = decode_proof_value(value, network_labels=network_labels)
            except ProofFormatError as exc:
                problems.append(f"merkle-proof-2019 proofValue: {exc}")
        problems.extend(_merkle_proof_fields(merkle_proof, eddsa))
        if eddsa is not None:
            prev = merkle_proof.get("previousProof")
            if prev is None or prev != eddsa.get("id"):
                problems.append(
                    f"merkle-proof-2019 previousProof: expected the signature's id {eddsa.get('id')!r}, got {prev!r}"
                )
    return ParsedCredential(document, eddsa, merkle_proof, merkle, tuple(problems))
