"""DID resolution for the verifier: did:key derived locally, did:web from documents the caller supplies.

No DID is ever fetched here: fetching did:web over the network is the job of a guarded fetcher at the service edge
(configuration decides whether it is allowed). A document that came from a local file is reported as such, so a
reader of the report knows where the keys came from.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from verifier import keys
from verifier.errors import DidResolutionError


@dataclass(frozen=True)
class ResolvedDid:
    did: str
    document: Mapping[str, Any]
    source: str  # "derived from did:key", "file out/did.json", ...


def did_of(url: str) -> str:
    """The DID part of a DID URL (drops fragment, query and path)."""
    for sep in ("#", "?", "/"):
        url = url.split(sep, 1)[0]
    return url


class DidResolver:
    def __init__(self, documents: Mapping[str, tuple[Mapping[str, Any], str]] | None = None):
        # did -> (document, where it came from)
        self._documents: dict[str, tuple[Mapping[str, Any], str]] = dict(documents or {})

    def add(self, document: Mapping[str, Any], source: str, *, replace: bool = True) -> bool:
        """Trust ``document`` for its DID. With ``replace=False`` a DID already known keeps its document (a file
        found beside a credential never overrides one the user named). Returns whether it was added."""
        if not isinstance(document, Mapping):
            raise ValueError(f"{source}: a DID document must be a JSON object, got {type(document).__name__}")
        did = document.get("id")
        if not isinstance(did, str) or not did.startswith("did:"):
            raise ValueError(f"{source}: a DID document needs an 'id' that is a DID, got {did!r:.80}")
        if not replace and did in self._documents:
            return False
        self._documents[did] = (document, source)
        return True

    def known(self, did: str) -> bool:
        """Whether a document was given for this DID (it then wins over any other way of resolving it)."""
        return did in self._documents

    def resolve_local(self, did: str) -> ResolvedDid | None:
        """``resolve`` without I/O, or None when that would need I/O. Nothing here does I/O; a resolver that
        fetches (verifier.didweb) answers from its cache only."""
        return self.resolve(did)

    def resolve(self, did: str) -> ResolvedDid:
        if did in self._documents:
            doc, source = self._documents[did]
            return ResolvedDid(did, doc, source)
        if did.startswith("did:key:"):
            try:
                return ResolvedDid(did, keys.did_key_document(did), "derived from did:key")
            except (ValueError, keys.KeyFormatError) as exc:
                raise DidResolutionError(f"{did}: not a valid did:key ({exc})") from exc
        if did.startswith("did:web:"):
            raise DidResolutionError(
                f"{did}: no DID document available (fetching did:web is not enabled here; supply its did.json)"
            )
        method = did.split(":", 2)[1] if did.count(":") >= 2 else did
        raise DidResolutionError(f"{did}: DID method '{method}' is not supported (supported: key, web)")


def methods(document: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(absolute id, method) for each well-formed verification method; ids may be relative ('#frag')."""
    doc_id = document.get("id", "")
    listed = document.get("verificationMethod")
    for vm in listed if isinstance(listed, list) else []:
        vid = vm.get("id") if isinstance(vm, Mapping) else None
        if isinstance(vid, str) and isinstance(doc_id, str):
            yield (f"{doc_id}{vid}" if vid.startswith("#") else vid), vm


def verification_method(document: Mapping[str, Any], vm_id: str) -> Mapping[str, Any] | None:
    """The verification method with this id (absolute or relative '#frag'), or None."""
    return next((vm for vid, vm in methods(document) if vid == vm_id), None)


def has_relationship(document: Mapping[str, Any], vm_id: str, relationship: str) -> bool:
    """Whether the document lists vm_id under a verification relationship (e.g. assertionMethod)."""
    doc_id = document.get("id", "")
    listed = document.get(relationship)
    for entry in listed if isinstance(listed, list) else []:
        ref = entry.get("id") if isinstance(entry, Mapping) else entry
        if isinstance(ref, str) and isinstance(doc_id, str):
            if ref.startswith("#"):
                ref = f"{doc_id}{ref}"
            if ref == vm_id:
                return True
    return False


def public_key_of(vm: Mapping[str, Any]) -> keys.PublicKey:
    """The public key a verification method carries, as Multikey or JWK (KeyFormatError otherwise)."""
    if "publicKeyMultibase" in vm:
        value = vm["publicKeyMultibase"]
        if not isinstance(value, str):
            raise keys.KeyFormatError(f"publicKeyMultibase must be a string, got {type(value).__name__}")
        return keys.decode_multikey(value)
    if isinstance(vm.get("publicKeyJwk"), Mapping):
        return keys.jwk_to_public_key(dict(vm["publicKeyJwk"]))
    raise keys.KeyFormatError(f"verification method {vm.get('id')!r} carries neither publicKeyMultibase nor publicKeyJwk")


def chain_bindings(document: Mapping[str, Any], chain_id: int) -> Iterator[tuple[str, str]]:
    """(verification method id, lowercase address) for every method of ``document`` that binds an address on
    ``chain_id``, in document order, current or not.

    A method counts when its ``blockchainAccountId`` names this chain and, if it also carries a public key, that key
    is secp256k1 and derives the same address (a method that contradicts itself binds nothing)."""
    for vid, vm in methods(document):
        account = vm.get("blockchainAccountId")
        if not isinstance(account, str):
            continue
        try:
            bound = keys.parse_blockchain_account_id(account)
        except keys.KeyFormatError:
            continue
        if bound.chain_id != chain_id:
            continue
        try:
            key: keys.PublicKey | None = public_key_of(vm)
        except keys.KeyFormatError:
            key = None
        if key is not None and (key.kind != "secp256k1" or keys.eth_address_from_secp256k1(key.raw) != bound.address):
            continue
        yield vid, bound.address.lower()
