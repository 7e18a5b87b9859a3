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

import gc
import hashlib
import json
import multiprocessing
import multiprocessing.connection
import os
import pickle
import secrets
import threading
import tempfile
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from issuer.achievement import Achievement
from issuer.credential import CredentialTemplate, IssuerProfile
from issuer.errors import BatchError, IssuerError, OutputFolderError
from issuer.keys import IssuerIdentity
from issuer.roster import Learner
from issuer.ledger.base import AnchorReceipt, LedgerWriter
from verifier import keys as vkeys
from verifier.shapes import Canonicalizer
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
def _dumps(value: Any) -> str:
    # Compact JSON: json's C encoder does not indent, and indenting costs more than signing.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


_HOLE = "\x00anchorcred-shared-part\x00"  # a JSON string no credential holds (dumps escapes NUL as \u0000)


class Signer:
    """Signs the credentials of one batch: one identity, one ``created`` time, one canonicalizer that learns the
    batch's document shape once. Used by the CLI's workers (one per process, inherited by fork) and, chunk by chunk,
    by the issuer service's batch runner (``issuer.store.engine``), which writes no files."""

    def __init__(self, docs: Sequence[dict[str, Any]], identity: IssuerIdentity, created: str,
                 canon: Canonicalizer | None = None):
        self.docs = docs
        self.identity = identity
        self.created = created
        self.canon = canon or Canonicalizer()
        self._sign = identity.signer()
        self._shared_json: tuple[str, str] | None = None

    def sign_document(self, doc: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
        """(eddsa-rdfc-2022 proof, leaf) of ``doc``; the leaf is SHA-256 of the canonical form with that proof."""
        canon = self.canon
        # Canonicalize the document once: its canonical form is signed, and its shape is extended by the proof for
        # the leaf (the document with its signature, DESIGN.md "Canonical hashing").
        shaped = canon.shape(doc)
        proof = create_eddsa_proof(
            doc,
            sign=self._sign,
            verification_method=self.identity.signing_method,
            created=self.created,
            proof_id=f"urn:uuid:{uuid.uuid4()}",
            canon=canon,
            unsecured_canonical=canon.canonicalize_shaped(shaped),
        )
        leaf = hashlib.sha256(canon.canonicalize_shaped(canon.extend(shaped, "proof", proof)).encode("utf-8")).digest()
        return proof, leaf

    def sign_range(self, lo: int, hi: int) -> list[SignedCredential]:
        out = []
        for i in range(lo, hi):
            doc = self.docs[i]
            proof, leaf = self.sign_document(doc)
            out.append(SignedCredential(self.compact_json(doc)[:-1], proof, leaf))
        return out

    def compact_json(self, doc: dict[str, Any]) -> str:
        """``_dumps(doc)``, with the parts every credential of the batch shares (the issuer, the achievement: most of
        the text) serialized once per batch. Only when they are the template's very objects; else the plain dumps."""
        template = getattr(self.docs, "template", None)
        subject = doc.get("credentialSubject")
        if (
            template is None
            or doc.get("issuer") is not template.shared_issuer
            or not isinstance(subject, dict)
            or subject.get("achievement") is not template.shared_achievement
            or list(doc).index("issuer") > list(doc).index("credentialSubject")
        ):
            return _dumps(doc)
        if self._shared_json is None:
            self._shared_json = (_dumps(template.shared_issuer), _dumps(template.shared_achievement))
        issuer_json, achievement_json = self._shared_json
        hole = _dumps(_HOLE)
        skeleton = _dumps({**doc, "issuer": _HOLE, "credentialSubject": {**subject, "achievement": _HOLE}})
        first = skeleton.index(hole)
        second = skeleton.index(hole, first + len(hole))
        return (
            skeleton[:first] + issuer_json + skeleton[first + len(hole) : second] + achievement_json
            + skeleton[second + len(hole) :]
        )


_STATE: dict[str, Any] = {}
_BATCH_LOCK = threading.Lock()


def _sign_range(bounds: tuple[int, int]) -> list[SignedCredential]:
    return _STATE["signer"].sign_range(*bounds)


def merkle_proof(*, tree: MerkleTree, index: int, leaf: bytes, anchor: Anchor, method: str, created: str,
                 previous_proof: str) -> dict[str, Any]:
    """The merkle-proof-2019 proof of leaf ``index`` of ``tree``, chained after the proof ``previous_proof``."""
    proof_value = encode_proof_value(MerkleProof2019(tree.root, leaf, tree.path(index), (anchor,)))
    return make_proof(proof_value=proof_value, verification_method=method, created=created,
                      previous_proof=previous_proof)


def anchoring_method(identity: IssuerIdentity, chain_id: int, address: str | None = None) -> str:
    """The verification method a merkle proof names: the DID's anchoring method on the chain (that of ``address``,
    the batch's sender, when given: a batch anchored before a rotation names the old address), or, for a did:key
    issuer, the did:key of the anchoring key itself."""
    method = identity.anchoring_method(chain_id, address)
    if method is not None:
        return method
    mk = vkeys.encode_multikey(vkeys.PublicKey("secp256k1", identity.secp256k1_public))
    return f"did:key:{mk}#{mk}"


@dataclass(frozen=True)
class _WriteOrder:
    """What a shard needs, once the root is anchored, to finish and write its credentials."""

    tree: MerkleTree
    anchor: Anchor
    method: str
    created: str
    names: Sequence[str]
    out_dir: Path


def _prove_and_write(i: int, s: SignedCredential, order: _WriteOrder) -> None:
    merkle = merkle_proof(tree=order.tree, index=i, leaf=s.leaf, anchor=order.anchor, method=order.method,
                          created=order.created, previous_proof=s.eddsa_proof["id"])
    proofs = json.dumps([s.eddsa_proof, merkle], ensure_ascii=False, separators=(",", ":"))
    _write_new(order.out_dir / order.names[i], f'{s.head},"proof":{proofs}}}\n')


# ── 1 and 4 in worker processes ─────────────────────────────────────────────────────────────────────────────────
# Each worker owns a contiguous shard for the whole batch: it signs its credentials, sends back only their leaves,
# keeps the signed documents, and after the parent has anchored the root it writes them. Nothing large crosses a
# process boundary, and the documents are built in the worker (fork inherits the template, not 10,000 dicts).
def _shard_main(conn, lo: int, hi: int) -> None:
    # The work makes no reference cycles, but allocates millions of tuples: without this the cyclic collector keeps
    # rescanning the growing list of signed credentials (measured: ~15% of a worker's time). The worker exits after.
    gc.disable()
    try:
        signed: list[SignedCredential] = []
        for a in range(lo, hi, CHUNK):
            signed.extend(_sign_range((a, min(a + CHUNK, hi))))
            conn.send(("sign", min(a + CHUNK, hi) - a))
        conn.send(("leaves", [s.leaf for s in signed]))
        order = pickle.loads(conn.recv_bytes())
        if order is None:  # anchoring failed: nothing is written
            return
        for k, s in enumerate(signed):
            _prove_and_write(lo + k, s, order)
            if (k + 1) % CHUNK == 0 or k + 1 == len(signed):
                conn.send(("write", (k % CHUNK) + 1))
        conn.send(("done", None))
    except BaseException as exc:  # report it to the parent, which raises it with the shard named
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


class _Shards:
    def __init__(self, n: int, workers: int):
        ctx = multiprocessing.get_context("fork")
        size = -(-n // workers)
        self.bounds = [(lo, min(lo + size, n)) for lo in range(0, n, size)]
        self.conns = []
        self.procs = []
        for lo, hi in self.bounds:
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_shard_main, args=(child, lo, hi), daemon=True)
            proc.start()
            child.close()
            self.conns.append(parent)
            self.procs.append(proc)

    def collect(self, final: str, progress: Progress | None, total: int) -> list[Any]:
        """Messages until every shard sent ``final``; returns their payloads in shard order."""
        results: dict[int, Any] = {}
        done = 0
        pending = dict(enumerate(self.conns))
        while pending:
            for conn in multiprocessing.connection.wait(list(pending.values())):
                k = next(i for i, c in pending.items() if c is conn)
                try:
                    kind, payload = conn.recv()
                except EOFError:
                    raise BatchError(f"signing worker {k} ended without a word (exit code {self.procs[k].exitcode})") from None
                if kind == "error":
                    raise BatchError(f"signing worker {k} failed: {payload}")
                if kind == final:
                    results[k] = payload
                    del pending[k]
                elif progress:
                    done += payload
                    progress(kind, done, total)
        return [results[k] for k in range(len(self.conns))]

    def send_all(self, message: Any) -> None:
        # Pickled once, not once per shard: the write order holds the whole tree (about 1 MB at 10,000 leaves).
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        for conn in self.conns:
            conn.send_bytes(data)

    def close(self, *, failed: bool = False) -> None:
        """Joins the workers. After a failure they are stopped first: each forked worker holds copies of the parent's
        pipe ends, so closing ours never gives a waiting worker EOF, and one still signing would not look anyway."""
        if failed:
            for proc in self.procs:
                proc.terminate()
        for conn in self.conns:
            conn.close()
        for proc in self.procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
                proc.join()


# ── 2, 3: tree and anchor (in the parent) ──────────────────────────────────────────────────────────────────────
def _anchor(*, signed_leaves: list[bytes], writer: LedgerWriter, progress: Progress | None):
    tree = build_tree(signed_leaves)
    if progress:
        progress("anchor", 0, 1)
    receipt = writer.anchor(tree.root)
    if progress:
        progress("anchor", 1, 1)
    return tree, receipt


def _order(tree, receipt, identity, created, names, out_dir) -> _WriteOrder:
    anchor = Anchor(getattr(receipt, "anchor_chain", "eth"), receipt.chain_id,
                    getattr(receipt, "anchor_id", None) or receipt.tx_hash)
    return _WriteOrder(tree, anchor, anchoring_method(identity, receipt.chain_id), created, names, out_dir)


def _write_new(path: Path, text: str) -> None:
    # O_EXCL: an earlier credential is never overwritten, whatever the name clash.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        data = text.encode("utf-8")
        while data:
            data = data[os.write(fd, data):]
    finally:
        os.close(fd)


def _reason(exc: OSError) -> str:
    where = f"{exc.filename}: " if exc.filename else ""
    return where + (exc.strerror or str(exc))


def prepare_output(out_dir: Path, names: Sequence[str], *, did_web: bool) -> None:
    """Before anything is signed, so before the anchor is paid for: the output folder (and its .batches/, and for a
    did:web issuer .well-known/) exists and takes new files, and no credential's file name is taken."""
    folders = [out_dir, out_dir / ".batches"] + ([out_dir / ".well-known"] if did_web else [])
    try:
        for folder in folders:
            folder.mkdir(parents=True, exist_ok=True)
            fd, probe = tempfile.mkstemp(dir=folder, prefix=".anchorcred-probe-")
            os.close(fd)
            os.unlink(probe)
        taken = sorted(set(os.listdir(out_dir)).intersection(names))
    except OSError as exc:
        raise OutputFolderError(f"output folder {out_dir} cannot take the batch: {_reason(exc)}") from exc
    if taken:
        raise OutputFolderError(f"output folder {out_dir}: {len(taken)} credential file name(s) already taken, e.g. {taken[0]}")


def _write_json(path: Path, data: Any) -> None:
    """Whole or not at all (a reader never sees half a record)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(data, indent=2) + "\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_did_document(identity: IssuerIdentity, out_dir: Path, chain_id: int) -> Path | None:
    """The did:web document, binding the anchoring address on this chain and on every chain an earlier batch in this
    folder anchored on (else those batches' anchors would no longer be bound to the issuer)."""
    if identity.did.startswith("did:key:"):
        return None
    # Where did:web puts it (did:web spec §3.2), and out of the way of `anchorcred verify out/*.json`.
    path = out_dir / ".well-known" / "did.json"
    chains = {chain_id}
    try:
        chains |= identity.bound_chains(json.loads(path.read_text("utf-8")))
    except FileNotFoundError:
        pass
    except (OSError, ValueError) as exc:  # not ours to guess what a damaged document bound: say so, write nothing
        raise BatchError(f"{path}: the issuer's DID document there is unreadable ({type(exc).__name__})") from exc
    _write_json(path, identity.did_document(chains))
    return path


def _batch_record(root: bytes, receipt: AnchorReceipt, count: int, ledger_label: str, identity: IssuerIdentity,
                  names: Sequence[str]) -> dict[str, Any]:
    return {
        "merkle_root": root.hex(),
        "count": count,
        "ledger": ledger_label,
        "chain_id": receipt.chain_id,
        "transaction": receipt.tx_hash,
        "block": receipt.block_number,
        "gas_used": receipt.gas_used,
        "mode": receipt.mode,
        "issuer": identity.did,
        "credentials": list(names),
        "state": "anchored",  # -> "written" once every credential and the DID document are written
    }


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
    """Sign, anchor (one transaction) and write a batch. Raises OutputFolderError before signing if the output
    folder cannot take it, BatchError if signing fails (nothing paid) or writing fails after anchoring (the error
    names the transaction and the batch record, left in state "anchored")."""
    if not docs:
        raise ValueError("a batch needs at least one credential")
    workers = max(1, min(workers or min(os.cpu_count() or 1, 4), -(-len(docs) // CHUNK)))
    ids = docs.ids if isinstance(docs, BatchDocuments) else [d["id"] for d in docs]
    names = list(file_names) if file_names else [f"{cid.rsplit(':', 1)[-1]}.json" for cid in ids]
    prepare_output(out_dir, names, did_web=not identity.did.startswith("did:key:"))
    with _BATCH_LOCK:  # the workers find their input in _STATE: one batch at a time per process
        return _issue_locked(docs, identity=identity, writer=writer, ledger_label=ledger_label, out_dir=out_dir,
                             created=created, workers=workers, progress=progress, names=names)


def _issue_locked(docs, *, identity, writer, ledger_label, out_dir, created, workers, progress, names) -> BatchResult:
    _STATE.clear()
    _STATE["signer"] = Signer(docs, identity, created)
    shards: _Shards | None = None
    failed = True
    try:
        if workers == 1:
            signed = []
            for a in range(0, len(docs), CHUNK):
                signed.extend(_sign_range((a, min(a + CHUNK, len(docs)))))
                if progress:
                    progress("sign", len(signed), len(docs))
            leaves = [s.leaf for s in signed]
        else:
            _sign_range((0, 1))  # learn the document shapes once here; the forked workers inherit the templates
            shards = _Shards(len(docs), workers)
            leaves = [leaf for part in shards.collect("leaves", progress, len(docs)) for leaf in part]
        tree, receipt = _anchor(signed_leaves=leaves, writer=writer, progress=progress)

        # Paid for: from here on, every failure names the transaction and the record of what it anchors.
        manifest = out_dir / ".batches" / f"{tree.root.hex()[:16]}.json"
        record = _batch_record(tree.root, receipt, len(docs), ledger_label, identity, names)
        anchored = f"root {tree.root.hex()} is anchored in transaction {receipt.tx_hash} (chain {receipt.chain_id})"
        try:
            _write_json(manifest, record)
        except OSError as exc:
            raise BatchError(f"{anchored}, but its batch record {manifest} could not be written ({_reason(exc)}); "
                             "no credential was written") from exc
        try:
            order = _order(tree, receipt, identity, created, names, out_dir)
            if shards is None:
                for i, s in enumerate(signed):
                    _prove_and_write(i, s, order)
                    if progress and ((i + 1) % CHUNK == 0 or i + 1 == len(signed)):
                        progress("write", i + 1, len(signed))
            else:
                shards.send_all(order)
                shards.collect("done", progress, len(docs))
            did_path = _write_did_document(identity, out_dir, receipt.chain_id)
            record["state"] = "written"
            _write_json(manifest, record)
        except (OSError, IssuerError) as exc:
            detail = _reason(exc) if isinstance(exc, OSError) else str(exc)
            raise BatchError(f"{anchored}, but writing the batch failed: {detail}; "
                             f"batch record: {manifest} (state \"anchored\")") from exc
        failed = False
    finally:
        if shards is not None:
            shards.close(failed=failed)
        _STATE.clear()
    files = tuple(out_dir / n for n in names)
    return BatchResult(len(docs), tree.root, receipt, ledger_label, out_dir, files, did_path, manifest)
