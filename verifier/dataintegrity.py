"""Data Integrity proofs with the ``eddsa-rdfc-2022`` cryptosuite (W3C VC DI EdDSA §3.3), proof sets and chains.

hashData (§3.3.4): sha256(canonical proof configuration) || sha256(canonical document); the proof configuration is
the proof without ``proofValue`` and with the document's ``@context`` (§3.3.5). ``proofValue`` is the Ed25519
signature of that 64-byte hash, multibase base58btc (§3.3.2).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from verifier.canonical import canonicalize
from verifier.document import proof_list
from verifier.shapes import Canonicalizer
from verifier.errors import ProofFormatError
from verifier.keys import KeyFormatError, multibase_decode, multibase_encode

PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-rdfc-2022"


def _canon(doc: dict[str, Any], canon: Canonicalizer | None) -> str:
    return canonicalize(doc) if canon is None else canon.canonicalize(doc)


def proof_config_of(unsecured_doc: dict[str, Any], proof: dict[str, Any]) -> dict[str, Any]:
    """The proof configuration (VC DI EdDSA §3.3.5): the proof minus proofValue, with the document's @context."""
    config = {k: v for k, v in proof.items() if k != "proofValue"}
    config["@context"] = unsecured_doc.get("@context")
    return config


def proof_hash(
    unsecured_doc: dict[str, Any],
    proof_config: dict[str, Any],
    canon: Canonicalizer | None = None,
    *,
    unsecured_canonical: str | None = None,
) -> bytes:
    """hashData (§3.3.4): sha256(canonical proof config) || sha256(canonical document), 64 bytes.

    ``unsecured_canonical``: the document's canonical form when the caller has it already (it must be exactly
    that document's; the issuer and the verifier compute it once and use it twice).
    """
    config_hash = hashlib.sha256(_canon(proof_config, canon).encode("utf-8")).digest()
    if unsecured_canonical is None:
        unsecured_canonical = _canon(unsecured_doc, canon)
    doc_hash = hashlib.sha256(unsecured_canonical.encode("utf-8")).digest()
    return config_hash + doc_hash


def create_eddsa_proof(
    unsecured_doc: dict[str, Any],
    *,
    sign: Callable[[bytes], bytes],
    verification_method: str,
    created: str,
    proof_id: str | None = None,
    proof_purpose: str = "assertionMethod",
    previous_proof: str | list[str] | None = None,
    canon: Canonicalizer | None = None,
    unsecured_canonical: str | None = None,
    options: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``DataIntegrityProof`` over ``unsecured_doc`` (which holds the earlier proofs when chaining, VC DI §4.x).

    ``options``: further proof options signed with the proof, e.g. a presentation's ``challenge`` and ``domain``
    (VC DI 1.0 §2.1); they may not replace the fields set here.
    """
    proof: dict[str, Any] = {}
    if proof_id is not None:
        proof["id"] = proof_id
    proof.update(
        {
            "type": PROOF_TYPE,
            "cryptosuite": CRYPTOSUITE,
            "created": created,
            "verificationMethod": verification_method,
            "proofPurpose": proof_purpose,
        }
    )
    if previous_proof is not None:
        proof["previousProof"] = previous_proof
    for name, value in (options or {}).items():
        if name in proof or name == "proofValue":
            raise ValueError(f"proof option {name!r} would replace a field the proof sets itself")
        proof[name] = value
    digest = proof_hash(unsecured_doc, proof_config_of(unsecured_doc, proof), canon, unsecured_canonical=unsecured_canonical)
    signature = sign(digest)
    if len(signature) != 64:
        raise ValueError(f"an Ed25519 signature is 64 bytes, the signer returned {len(signature)}")
    proof["proofValue"] = multibase_encode(signature)
    return proof


def proofs_of(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The proofs of a secured document (``proof`` may be one object or a set/chain array), each an object."""
    proofs = proof_list(doc)
    for p in proofs:
        if not isinstance(p, dict):
            raise ProofFormatError(f"a proof must be a JSON object, got {type(p).__name__}")
    return list(proofs)


def secured_without(doc: dict[str, Any], proof: dict[str, Any]) -> dict[str, Any]:
    """The document as ``proof`` saw it when it was made (VC DI 1.0 §4.3 steps on previousProof).

    No proofs at all, except for a chained proof: then exactly the proofs its ``previousProof`` names.
    """
    unsecured = {k: v for k, v in doc.items() if k != "proof"}
    previous = proof.get("previousProof")
    if previous is None:
        return unsecured
    wanted = [previous] if isinstance(previous, str) else previous
    if not isinstance(wanted, list) or not all(isinstance(w, str) for w in wanted):
        raise ProofFormatError(f"previousProof must be a string or a list of strings, got {previous!r:.80}")
    by_id = {p["id"]: p for p in proofs_of(doc) if isinstance(p.get("id"), str)}
    missing = [w for w in wanted if w not in by_id]
    if missing:
        raise ProofFormatError(f"previousProof names proofs not in the document: {', '.join(missing)}")
    matching = [by_id[w] for w in wanted]
    unsecured["proof"] = matching[0] if len(matching) == 1 else matching
    return unsecured


def decode_proof_value(proof: dict[str, Any]) -> bytes:
    """Check the proof's fields (§3.3.2) and return the 64-byte Ed25519 signature."""
    if proof.get("type") != PROOF_TYPE:
        raise ProofFormatError(f"proof type must be {PROOF_TYPE!r}, got {proof.get('type')!r}")
    if proof.get("cryptosuite") != CRYPTOSUITE:
        raise ProofFormatError(f"cryptosuite must be {CRYPTOSUITE!r}, got {proof.get('cryptosuite')!r}")
    value = proof.get("proofValue")
    try:
        signature = multibase_decode(value)
    except KeyFormatError as exc:
        raise ProofFormatError(f"proofValue: {exc}") from exc
    if len(signature) != 64:
        raise ProofFormatError(f"proofValue must decode to a 64-byte Ed25519 signature, got {len(signature)} bytes")
    return signature


def verify_eddsa_proof(
    secured_doc: dict[str, Any],
    proof: dict[str, Any],
    public_key: bytes,
    canon: Canonicalizer | None = None,
    *,
    unsecured_canonical: str | None = None,
) -> bool:
    """True if ``proof`` (one of the document's proofs) is a valid eddsa-rdfc-2022 signature by ``public_key``.

    Malformed proofs raise ``ProofFormatError``; a document that cannot be canonicalized raises its own error
    (``UnmappedTermError``, ``ContextError``...). A well-formed but wrong signature returns False.
    """
    signature = decode_proof_value(proof)
    if len(public_key) != 32:
        raise ProofFormatError(f"an Ed25519 public key is 32 bytes, got {len(public_key)}")
    unsecured = secured_without(secured_doc, proof)
    options = {k: v for k, v in proof.items() if k != "proofValue"}
    if "@context" in options:
        # §3.3.2 step 3: the proof's own @context must be a prefix of the document's.
        doc_ctx = secured_doc.get("@context")
        doc_ctx = doc_ctx if isinstance(doc_ctx, list) else [doc_ctx]
        proof_ctx = options["@context"] if isinstance(options["@context"], list) else [options["@context"]]
        if doc_ctx[: len(proof_ctx)] != proof_ctx:
            return False
        del options["@context"]
    digest = proof_hash(unsecured, proof_config_of(unsecured, options), canon, unsecured_canonical=unsecured_canonical)
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, digest)
    except InvalidSignature:
        return False
    return True
