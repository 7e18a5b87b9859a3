"""The checks of an offline bundle, in their fixed order (wallet/offline.py says what each one proves)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from verifier.did import DidResolver, methods
from verifier.document import parse_credential, parse_datetime
from verifier.errors import AnchorcredError, InvalidInputError
from verifier.ledger.base import to_checksum_address
from verifier.merkle import path_to_json
from verifier.report import CheckResult, Report, Status
from verifier.verify import Verifier, VerifierOptions, unreadable_report
from wallet import evmproof as ep
from wallet.offline import BundleReport, NodeConfirmer, OfflineLedger, Proven, _age, _result, prove_blocks


def _stamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_bundle_ledger(bundle: dict[str, Any], proven: Proven) -> CheckResult:
    cid = "bundle_ledger"
    anchor = bundle.get("anchor") if isinstance(bundle.get("anchor"), dict) else {}
    if proven.problems:
        more = f" (+{len(proven.problems) - 2} more)" if len(proven.problems) > 2 else ""
        return _result(cid, Status.FAIL, "; ".join(proven.problems[:2]) + more)
    tx_hash = anchor.get("tx_hash")
    where = proven.tx_index.get(tx_hash) if isinstance(tx_hash, str) else None
    if where is None:
        return _result(cid, Status.FAIL, f"the anchoring transaction {tx_hash!r:.80} is in no block of the bundle "
                                         "(its bytes were changed, or it was left out)")
    block = proven.blocks[where[0]]
    return _result(cid, Status.PASS, f"{len(proven.blocks)} block(s) prove themselves (header hash, transactions and "
                                     f"receipts roots); transaction {tx_hash[:14]}… is #{where[1]} of block "
                                     f"{block.header.number}, followed by {proven.descendants} block(s) in the bundle")


def check_bundle_merkle(bundle: dict[str, Any], credential: dict[str, Any]) -> CheckResult:
    cid = "bundle_merkle"
    merkle = bundle.get("merkle") if isinstance(bundle.get("merkle"), dict) else None
    try:
        parsed = parse_credential(credential)
    except InvalidInputError:
        return _result(cid, Status.SKIPPED, "the credential cannot be read (see format)")
    if parsed.merkle is None:
        return _result(cid, Status.SKIPPED, "the credential has no merkle-proof-2019 proof (see format)")
    if merkle is None:
        return _result(cid, Status.FAIL, "the bundle carries no Merkle path")
    expected = {"targetHash": parsed.merkle.target_hash.hex(), "merkleRoot": parsed.merkle.merkle_root.hex(),
                "path": path_to_json(parsed.merkle.path)}
    for key in ("targetHash", "merkleRoot", "path"):
        if merkle.get(key) != expected[key]:
            return _result(cid, Status.FAIL, f"the bundle's Merkle {key} differs from the credential's proof: the "
                                             "bundle was changed")
    return _result(cid, Status.PASS, f"path of {len(parsed.merkle.path)} steps to root "
                                     f"{parsed.merkle.merkle_root.hex()[:12]}…, as in the credential's proof")


def _key_material(document: dict[str, Any]) -> dict[str, str]:
    """method id -> its key material and binding, as one comparable string (dates and other members left out)."""
    out: dict[str, str] = {}
    for vid, vm in methods(document):
        out[vid] = json.dumps({k: vm.get(k) for k in ("type", "controller", "publicKeyMultibase", "publicKeyJwk",
                                                       "blockchainAccountId")}, sort_keys=True)
    return out


def check_bundle_issuer(bundle: dict[str, Any], credential: dict[str, Any], now: datetime,
                        trusted: Mapping[str, tuple[dict[str, Any], str]] | None = None) -> CheckResult:
    """Whose keys the bundle's DID document lists. Offline, a did:web document that came with the bundle proves
    nothing by itself: whoever made the bundle could have written it (with their own keys and anchoring address, and
    anchored on the real chain). It counts only when it agrees with a document of that DID the verifier was given
    (``--did-document``): every method the bundle's document lists must be in the given one, with the same key
    material. Without one the check is indeterminate (never verified); a did:key DID is its own key."""
    cid = "bundle_issuer"
    issuer = bundle.get("issuer") if isinstance(bundle.get("issuer"), dict) else {}
    document = issuer.get("document")
    try:
        did = parse_credential(credential).issuer_id
    except InvalidInputError:
        return _result(cid, Status.SKIPPED, "the credential cannot be read (see format)")
    if not isinstance(document, dict):
        return _result(cid, Status.INDETERMINATE, f"the bundle carries no DID document for {did}: the issuer's keys "
                                                  "cannot be known offline")
    if document.get("id") != did:
        return _result(cid, Status.FAIL, f"the bundle's DID document is for {document.get('id')!r:.80}, not for the "
                                         f"issuer {did}")
    captured = parse_datetime(issuer.get("captured"))
    carried = f"{issuer.get('source') or 'source not stated'}, as of {_age(captured, now)}"
    if did.startswith("did:key:"):
        return _result(cid, Status.PASS, f"{did} is its own key ({carried})")
    given = (trusted or {}).get(did)
    if given is None:
        return _result(cid, Status.INDETERMINATE,
                       f"the DID document of {did} came with the bundle ({carried}); nothing offline shows it is the "
                       "issuer's: give the issuer's DID document with --did-document, or verify online")
    mine, theirs = _key_material(document), _key_material(given[0])
    foreign = sorted(vid for vid, material in mine.items() if theirs.get(vid) != material)
    if foreign:
        return _result(cid, Status.FAIL, f"the bundle's DID document of {did} lists key(s) the issuer's document "
                                         f"({given[1]}) does not: {', '.join(foreign)[:300]}")
    return _result(cid, Status.PASS, f"DID document of {did} ({carried}) agrees with {given[1]}")


def check_confirmation(node: NodeConfirmer | None, number: int | None, block_hash: str | None, exported: datetime | None,
                       now: datetime) -> tuple[CheckResult, int | None]:
    """The node's word on the anchor's block, and its latest block (for confirmations)."""
    cid = "ledger_confirmation"
    if number is None or block_hash is None:
        return _result(cid, Status.SKIPPED, "no proven anchor block to confirm (see bundle_ledger)"), None
    if node is None:
        return _result(cid, Status.SKIPPED, f"no ledger node configured: block {number} ({block_hash[:14]}…) is the "
                                            f"bundle's own, exported {_age(exported, now)}; it is self-consistent, "
                                            "but nothing offline shows it is on the chain"), None
    try:
        answer = node.confirm(number)
    except AnchorcredError as exc:
        return _result(cid, Status.INDETERMINATE, f"the ledger node at {node.where} could not confirm block {number}: "
                                                  f"{exc.diagnostics()}"), None
    if answer.block_hash is None:
        return _result(cid, Status.FAIL, f"the ledger node at {node.where} has no block {number} (latest "
                                         f"{answer.latest}): the bundle's block is not on its chain"), None
    if answer.block_hash != block_hash.lower():
        return _result(cid, Status.FAIL, f"the ledger node at {node.where} has block {answer.block_hash[:14]}… at "
                                         f"height {number}, the bundle {block_hash[:14]}…: the bundle's block is not "
                                         "on its chain (forged or reorganised away)"), None
    return _result(cid, Status.PASS, f"the ledger node at {node.where} has the same block {block_hash[:14]}… at height "
                                     f"{number}; {answer.latest - number + 1} confirmation(s) now"), answer.latest


def run_checks(bundle: dict[str, Any], *, now: datetime, source: str, node: NodeConfirmer | None,
               trusted: Mapping[str, tuple[dict[str, Any], str]] | None = None) -> BundleReport:
    credential = bundle.get("credential")
    exported = parse_datetime(bundle.get("exported_at"))
    stamp = _stamp(now)
    if not isinstance(credential, dict):
        fail = CheckResult("format", "Format and EU elements", Status.FAIL, "the bundle carries no credential object")
        return BundleReport(source, bundle.get("exported_at"), (fail,), None, (), stamp)
    anchor = bundle.get("anchor") if isinstance(bundle.get("anchor"), dict) else {}
    ledger = bundle.get("ledger") if isinstance(bundle.get("ledger"), dict) else {}
    proven = prove_blocks(ledger, anchor.get("block") if isinstance(anchor.get("block"), str) else None)
    ledger_check = check_bundle_ledger(bundle, proven)
    merkle_check = check_bundle_merkle(bundle, credential)
    issuer_check = check_bundle_issuer(bundle, credential, now, trusted)

    where = proven.tx_index.get(anchor.get("tx_hash")) if isinstance(anchor.get("tx_hash"), str) else None
    block = proven.blocks[where[0]] if where else None
    confirmation, latest = check_confirmation(node, block.header.number if block else None,
                                              "0x" + block.header.hash.hex() if block else None, exported, now)
    chain_id = anchor.get("chain_id") if isinstance(anchor.get("chain_id"), int) else 0
    registry = None
    if block is not None:
        try:
            registry = ep.parse_transaction(block.transactions[where[1]]).to
        except ep.ProofError:
            registry = None  # the anchor check reports the transaction it cannot read
    elif isinstance(ledger.get("registry"), str):
        try:
            registry = to_checksum_address(ledger["registry"])
        except AnchorcredError:
            registry = None
    offline = OfflineLedger(chain_id, proven, registry=registry, latest_block=latest) if chain_id > 0 else None
    report = _credential_report(bundle, credential, offline, issuer_check, now=now, source=source)
    evidence = _evidence(bundle, block, proven, exported, now, latest is not None)
    checks = (ledger_check, merkle_check, issuer_check, *report.checks, confirmation)
    return BundleReport(source, bundle.get("exported_at"), checks, report, evidence, stamp)


def _credential_report(bundle: dict[str, Any], credential: dict[str, Any], offline: OfflineLedger | None,
                       issuer_check: CheckResult, *, now: datetime, source: str) -> Report:
    issuer = bundle.get("issuer") if isinstance(bundle.get("issuer"), dict) else {}
    resolver = DidResolver()
    # The bundle's document is used unless it failed (another DID, or keys the issuer's document lacks): an
    # unconfirmed one still catches a credential changed after signing; bundle_issuer keeps the verdict grey.
    if issuer_check.status in (Status.PASS, Status.INDETERMINATE) and isinstance(issuer.get("document"), dict):
        captured = issuer.get("captured") or "an unknown time"
        confirmed = "" if issuer_check.status is Status.PASS else " (not confirmed: see bundle_issuer)"
        resolver.add(issuer["document"], f"the bundle's DID document, {issuer.get('source') or 'source not stated'}, "
                                         f"as of {captured}{confirmed}")
    snapshots = {}
    for item in bundle.get("status") or []:
        if isinstance(item, dict) and isinstance(item.get("url"), str) and isinstance(item.get("list_credential"), dict):
            snapshots[item["url"]] = item["list_credential"]
    verifier = Verifier(ledger=offline, did_resolver=resolver, options=VerifierOptions())
    try:
        return verifier.verify(credential, now=now, source=source, status_lists=snapshots)
    except AnchorcredError as exc:  # defensive: the verifier reports, it does not raise; say so if it ever does
        return unreadable_report(source, f"the credential could not be verified: {exc.diagnostics()}", now=now)
    except ep.ProofError as exc:
        return unreadable_report(source, f"bundle evidence could not be decoded: {exc}", now=now)


def _evidence(bundle: dict[str, Any], block: Any, proven: Proven, exported: datetime | None, now: datetime,
              confirmed: bool) -> tuple[tuple[str, str], ...]:
    issuer = bundle.get("issuer") if isinstance(bundle.get("issuer"), dict) else {}
    out = [("signature", f"issuer's keys from the bundle's DID document ({issuer.get('source') or 'source not stated'},"
                         f" as of {_age(parse_datetime(issuer.get('captured')), now)})")]
    if block is not None:
        time = datetime.fromtimestamp(block.header.timestamp, tz=timezone.utc)
        out.append(("anchor", f"transaction and block {block.header.number} (block time {_age(time, now)}) from the "
                              f"bundle exported {_age(exported, now)}, {proven.descendants} later block(s) carried"
                              + ("; confirmed by a ledger node now" if confirmed else "; not confirmed by a node")))
    events = issuer.get("key_events") if isinstance(issuer.get("key_events"), list) else []
    out.append(("key_history", f"{len(events)} key event(s) of the issuer as the registry held them at export "
                               f"({_age(exported, now)}); a later revocation is not in the bundle"))
    for item in bundle.get("status") or []:
        if isinstance(item, dict):
            fetched = parse_datetime(item.get("fetched_at"))
            pubs = item.get("publications") if isinstance(item.get("publications"), list) else []
            out.append(("status", f"list {str(item.get('url'))[:100]} as fetched {_age(fetched, now)} "
                                  f"({item.get('source') or 'source not stated'}), {len(pubs)} anchored publication(s) "
                                  "carried; a later change of status is not in the bundle"))
    if not bundle.get("status"):
        out.append(("status", "the bundle carries no status list snapshot"))
    return tuple(out)


__all__ = ["run_checks"]
