"""Putting credentials into batches: a roster batch (signed later by the runner) or one VC-API credential (signed
now, joining its tenant's open batch). Also the read helpers the API and pages use.

Both functions add to the caller's session and flush; the caller commits (one transaction per request).
"""

from __future__ import annotations

import copy
import dataclasses
import re
import secrets
import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from issuer.batch import Signer
from issuer.credential import VC2_CONTEXT
from issuer.roster import Learner
from issuer.status.allocation import allocate
from issuer.store.errors import CredentialPendingError, CredentialIdTakenError, IssuanceError
from issuer.store.models import AchievementRecord, Batch, BatchState, CredentialRecord, Tenant
from issuer.store.secrets import SecretBox
from issuer.store.tenants import identity_of
from verifier.errors import ContextError, InvalidInputError, UnmappedTermError
from verifier.shapes import Canonicalizer

__all__ = ["batch_progress", "create_roster_batch", "issue_credential", "latest_document", "learner_from_dict",
           "learner_to_dict", "new_share_token", "utcnow", "xsd_now"]

MAX_ID_LENGTH = 100  # CredentialRecord.id
_CANON = Canonicalizer()  # thread-safe; learns each credential shape once for the process
_XSD_DATETIME = re.compile(r"^-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$")


def utcnow() -> datetime:
    return datetime.now(UTC)


def xsd_now(moment: datetime | None = None) -> str:
    return (moment or utcnow()).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_share_token() -> str:
    """43 URL-safe characters (256 bits): names a credential in public links, unguessable."""
    return secrets.token_urlsafe(32)


def learner_to_dict(learner: Learner) -> dict[str, Any]:
    data = dataclasses.asdict(learner)
    if isinstance(learner.completion_date, date):
        data["completion_date"] = learner.completion_date.isoformat()
    return data


def learner_from_dict(data: dict[str, Any]) -> Learner:
    values = {f.name: data.get(f.name) for f in dataclasses.fields(Learner)}
    if values["completion_date"]:
        values["completion_date"] = date.fromisoformat(values["completion_date"])
    return Learner(**values)


# ── roster batches ──────────────────────────────────────────────────────────────────────────────────────────────
def create_roster_batch(session: Session, tenant: Tenant, achievement: AchievementRecord,
                        learners: list[Learner], *, public_url: str | None = None) -> Batch:
    """A SEALED batch with one unsigned CredentialRecord per learner (id, position, learner, share token); the
    runner signs, anchors and delivers it. With ``public_url`` (the service's), each credential gets its status
    entries now (revocation and suspension, random indices: ``issuer.status.allocation``), which the runner puts
    in its ``credentialStatus`` when signing; without, the credentials carry no status."""
    if achievement.tenant_id != tenant.id:
        raise ValueError(f"achievement {achievement.id} belongs to another tenant")
    if not learners:
        raise ValueError("a roster batch needs at least one learner")
    now = utcnow()
    batch = Batch(id=str(uuid.uuid4()), tenant_id=tenant.id, achievement_id=achievement.id, state=BatchState.SEALED,
                  total=len(learners), done=0, stage="sealed", created_at=now, sealed_at=now)
    session.add(batch)
    session.flush()
    records = [CredentialRecord(id=f"urn:uuid:{uuid.uuid4()}", tenant_id=tenant.id, batch_id=batch.id, position=i,
                                learner=learner_to_dict(learner), share_token=new_share_token())
               for i, learner in enumerate(learners)]
    session.add_all(records)
    session.flush()
    if public_url is not None:
        allocate(session, tenant, [r.id for r in records], public_url=public_url)
    return batch


# ── VC-API ──────────────────────────────────────────────────────────────────────────────────────────────────────
def issue_credential(session: Session, box: SecretBox, tenant: Tenant, credential: dict, *,
                     public_url: str | None = None) -> CredentialRecord:
    """Completes, signs (eddsa-rdfc-2022) and stores an unsigned credential; it joins the tenant's OPEN batch
    (created when there is none) and gets its merkle-proof-2019 proof when that batch is anchored.

    Completed: ``issuer`` set to the tenant's DID (another issuer is an ``IssuanceError`` on ``issuer``), ``id`` a
    fresh urn:uuid if absent, ``validFrom`` now if absent, and with ``public_url`` (the service's) its
    ``credentialStatus``: revocation and suspension entries in the tenant's status lists (a credential that brings
    its own is refused: the issuer can only revoke through lists it publishes). Every term must be defined by a
    context the project ships (an undefined one is an ``IssuanceError`` naming it and where it is)."""
    # The tenant's row first (the order a key change takes it), and its keys as of now: a signing-key revocation
    # cannot commit between reading the key and storing what it signed (it would not see this credential to fail it).
    tenant = session.get(Tenant, tenant.id, populate_existing=True, with_for_update=True) or tenant
    doc = _completed(session, tenant, credential)
    if public_url is not None:
        if "credentialStatus" in doc:
            raise IssuanceError("credentialStatus", "the issuer adds credentialStatus (entries in its own status "
                                                    "lists); send the credential without it")
        doc["credentialStatus"] = allocate(session, tenant, [doc["id"]], public_url=public_url)[doc["id"]]
    identity = identity_of(tenant, box)
    signer = Signer([doc], identity, xsd_now(), canon=_CANON)
    try:
        proof, leaf = signer.sign_document(doc)
    except UnmappedTermError as exc:
        where = _path_of(doc, exc.terms[0]) or exc.terms[0]
        raise IssuanceError(where, "terms defined by no context of the credential: " + ", ".join(exc.terms)) from None
    except ContextError as exc:
        raise IssuanceError("@context", str(exc)) from None
    except InvalidInputError as exc:
        raise IssuanceError("credential", str(exc)) from None
    batch = _open_batch(session, tenant)
    record = CredentialRecord(id=doc["id"], tenant_id=tenant.id, batch_id=batch.id, position=batch.total,
                              learner={}, document={**doc, "proof": proof}, leaf=leaf.hex(),
                              share_token=new_share_token())
    batch.total += 1
    batch.done = batch.total
    session.add(record)
    session.flush()
    return record


def _open_batch(session: Session, tenant: Tenant) -> Batch:
    """The tenant's oldest OPEN batch, row-locked (PostgreSQL) so the runner cannot seal it under us and positions
    stay unique; SQLite's BEGIN IMMEDIATE serializes writers anyway. A new one when there is none."""
    batch = session.scalar(
        select(Batch).where(Batch.tenant_id == tenant.id, Batch.state == BatchState.OPEN)
        .order_by(Batch.created_at, Batch.id).limit(1).with_for_update()
    )
    if batch is None:
        batch = Batch(id=str(uuid.uuid4()), tenant_id=tenant.id, achievement_id=None, state=BatchState.OPEN,
                      total=0, done=0, stage="open", created_at=utcnow())
        session.add(batch)
        session.flush()
    return batch


def _completed(session: Session, tenant: Tenant, credential: Any) -> dict[str, Any]:
    if not isinstance(credential, dict):
        raise IssuanceError("credential", f"must be a JSON object, got {type(credential).__name__}")
    doc = copy.deepcopy(credential)
    if "proof" in doc:
        raise IssuanceError("proof", "the credential to issue must be unsigned (no proof)")
    contexts = doc.get("@context")
    if not isinstance(contexts, list) or not contexts or contexts[0] != VC2_CONTEXT:
        raise IssuanceError("@context", f"must be a list starting with {VC2_CONTEXT}")
    types = doc.get("type")
    if not (isinstance(types, list) and "VerifiableCredential" in types) and types != "VerifiableCredential":
        raise IssuanceError("type", "must include VerifiableCredential")
    if not isinstance(doc.get("credentialSubject"), (dict, list)) or not doc["credentialSubject"]:
        raise IssuanceError("credentialSubject", "is required (an object, or a list of objects)")
    issuer = doc.get("issuer")
    if issuer is None:
        doc["issuer"] = tenant.did
    elif isinstance(issuer, str):
        if issuer != tenant.did:
            raise IssuanceError("issuer", f"must be this issuer's DID {tenant.did}, got {issuer!r}")
    elif isinstance(issuer, dict):
        if issuer.get("id", tenant.did) != tenant.did:
            raise IssuanceError("issuer.id", f"must be this issuer's DID {tenant.did}, got {issuer.get('id')!r}")
        doc["issuer"] = {"id": tenant.did, **{k: v for k, v in issuer.items() if k != "id"}}
    else:
        raise IssuanceError("issuer", "must be the issuer's DID or an object with it as id")
    cid = doc.get("id")
    if cid is None:
        doc = {"@context": doc["@context"], "id": f"urn:uuid:{uuid.uuid4()}",
               **{k: v for k, v in doc.items() if k != "@context"}}
    elif not isinstance(cid, str) or not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$", cid):
        raise IssuanceError("id", f"must be an absolute URI such as urn:uuid:..., got {cid!r}")
    elif len(cid) > MAX_ID_LENGTH:
        raise IssuanceError("id", f"must be at most {MAX_ID_LENGTH} characters, got {len(cid)}")
    elif session.scalar(select(func.count()).select_from(CredentialRecord).where(CredentialRecord.id == cid)):
        raise CredentialIdTakenError(cid)
    for name in ("validFrom", "validUntil"):
        value = doc.get(name)
        if value is not None and not (isinstance(value, str) and _XSD_DATETIME.match(value)):
            raise IssuanceError(name, f"must be an XML Schema dateTime such as 2026-01-31T12:00:00Z, got {value!r}")
    doc.setdefault("validFrom", xsd_now())
    return doc


def _path_of(value: Any, term: str, path: str = "") -> str | None:
    """The JSON path of the first member named ``term`` (or type value equal to it), for the error's field."""
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else key
            if key == term:
                return here
            if key in ("type", "@type") and (item == term or (isinstance(item, list) and term in item)):
                return here
            if key != "@context":
                found = _path_of(item, term, here)
                if found:
                    return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = _path_of(item, term, f"{path}[{i}]")
            if found:
                return found
    return None


# ── reading ─────────────────────────────────────────────────────────────────────────────────────────────────────
def latest_document(record: CredentialRecord) -> dict[str, Any]:
    """The credential as it stands: signed, then with its merkle-proof-2019 proof once its batch is delivered."""
    if record.document is None:
        raise CredentialPendingError(f"credential {record.id} is not signed yet (its batch is being prepared)")
    return copy.deepcopy(record.document)


STEPS = (("signed", BatchState.SIGNED), ("tree", BatchState.TREE_BUILT), ("anchor sent", BatchState.ANCHOR_SENT),
         ("confirmed", BatchState.CONFIRMED), ("delivered", BatchState.DELIVERED))
_ORDER = [BatchState.OPEN, BatchState.SEALED, BatchState.SIGNED, BatchState.TREE_BUILT, BatchState.ANCHOR_SENT,
          BatchState.CONFIRMED, BatchState.DELIVERED]


def batch_progress(batch: Batch) -> dict[str, Any]:
    """What a progress page shows: the state, the current stage with done/total, and each step done / active /
    pending. During ``confirming`` the stage's done/total count confirmations (k of K), not credentials."""
    state = batch.state
    reached = _ORDER.index(state) if state in _ORDER else -1
    steps = []
    for name, target in STEPS:
        index = _ORDER.index(target)
        status = "done" if reached >= index else ("active" if reached == index - 1 else "pending")
        if state is BatchState.FAILED:
            status = "failed" if status == "active" else status
        steps.append({"name": name, "status": status})
    stage_done, stage_total = batch.done, batch.total
    if batch.stage.startswith("confirming "):  # "confirming k/K"
        k, _, total = batch.stage.removeprefix("confirming ").partition("/")
        stage_done, stage_total = int(k), int(total)
    return {
        "id": batch.id,
        "state": state.value,
        "stage": batch.stage.split(" ")[0] if batch.stage else "",
        "done": stage_done,
        "total": stage_total,
        "credentials": batch.total,
        "steps": steps,
        "merkle_root": batch.merkle_root,
        "chain_id": batch.chain_id,
        "tx_hash": batch.tx_hash,
        "block_number": batch.block_number,
        "block_time": batch.block_time.isoformat() if batch.block_time else None,
        "error": batch.error,
    }
