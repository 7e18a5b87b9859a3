"""Request and response bodies of the issuer API (pydantic only at the HTTP edge; the store keeps SQLAlchemy rows)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from issuer.store.models import AchievementRecord, ApiKey, Batch, CredentialRecord, RosterUpload

ScopeName = Literal["issue", "revoke", "admin"]


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


class HealthOut(BaseModel):
    status: Literal["ok"]
    time: str
    database: Literal["ok"]
    chain_id: int | None = Field(description="the ledger the batches are anchored on")
    worker: bool = Field(description="whether this process runs the batch runner")


# ── achievements ────────────────────────────────────────────────────────────────────────────────────────────

class AchievementOut(BaseModel):
    id: str
    title: str
    spec: dict[str, Any] = Field(description="the achievement, in the structure of the CLI's achievement YAML")
    created_at: str | None

    @classmethod
    def of(cls, a: AchievementRecord) -> AchievementOut:
        return cls(id=a.id, title=a.title, spec=a.spec, created_at=_iso(a.created_at))


class AchievementList(BaseModel):
    items: list[AchievementOut]
    total: int


# ── rosters ─────────────────────────────────────────────────────────────────────────────────────────────────

class RosterOut(BaseModel):
    id: str
    achievement_id: str
    filename: str
    columns: list[str] = Field(description="the CSV header after the column mapping")
    mapping: dict[str, str] = Field(description="our column -> the column of the uploaded CSV")
    rows: int = Field(description="learner rows")
    preview: list[dict[str, str]] = Field(description="the first 10 learner rows, column -> value")
    problems: list[str] = Field(description="every problem, 'row N: ...'; the roster is issued only when empty")
    batch: str | None = Field(description="the batch issued from this roster, once issued")
    created_at: str | None


class RosterIssued(BaseModel):
    batch: BatchOut


# ── batches and credentials ─────────────────────────────────────────────────────────────────────────────────

class BatchOut(BaseModel):
    id: str
    achievement_id: str | None = Field(description="None for the VC-API batch (credentials issued one by one)")
    state: Literal["open", "sealed", "signed", "tree_built", "anchor_sent", "confirmed", "delivered", "failed"]
    stage: str
    done: int
    total: int
    root: str | None = Field(description="Merkle root (hex), once the tree is built")
    chain_id: int | None
    tx: str | None = Field(description="anchoring transaction hash, once sent")
    block: int | None = Field(description="block of the anchoring transaction, once mined")
    block_time: str | None
    error: str | None = Field(description="why the batch failed (state 'failed')")
    created_at: str | None
    updated_at: str | None

    @classmethod
    def of(cls, b: Batch) -> BatchOut:
        return cls(id=b.id, achievement_id=b.achievement_id, state=b.state.value, stage=b.stage or "", done=b.done,
                   total=b.total, root=b.merkle_root, chain_id=b.chain_id, tx=b.tx_hash, block=b.block_number,
                   block_time=_iso(b.block_time), error=b.error, created_at=_iso(b.created_at),
                   updated_at=_iso(b.updated_at))


class BatchList(BaseModel):
    items: list[BatchOut]
    total: int


class CredentialOut(BaseModel):
    id: str
    batch: str
    position: int
    learner: dict[str, Any]
    status: Literal["pending", "signed", "anchored"] = Field(
        description="pending: not signed yet; signed: eddsa proof only; anchored: merkle-proof-2019 added")
    share_url: str = Field(description="public link to the credential's latest form (JSON)")
    verify_url: str = Field(description="the verifier page opened on the share link")

    @classmethod
    def of(cls, c: CredentialRecord, *, share_url: str, verify_url: str, anchored: bool) -> CredentialOut:
        status = "pending" if c.document is None else ("anchored" if anchored else "signed")
        return cls(id=c.id, batch=c.batch_id, position=c.position, learner=c.learner, status=status,
                   share_url=share_url, verify_url=verify_url)


class CredentialList(BaseModel):
    items: list[CredentialOut]
    total: int


# ── VC-API ──────────────────────────────────────────────────────────────────────────────────────────────────

_EXAMPLE_CREDENTIAL = {
    "@context": ["https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],
    "type": ["VerifiableCredential", "OpenBadgeCredential"],
    "credentialSubject": {"type": ["AchievementSubject"], "achievement": {"id": "https://example.org/a/1",
                                                                          "type": ["Achievement"], "name": "..."}},
}


class IssueOptions(BaseModel):
    """VC-API issuance options. None is supported yet: the service refuses an option rather than ignore it."""

    model_config = ConfigDict(extra="allow")


class UnsignedCredential(BaseModel):
    """A VC 2.0 credential without a proof. ``issuer`` may be omitted: it is set to the tenant's DID."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)
    context: list[str | dict[str, Any]] = Field(alias="@context", min_length=1)
    type: list[str] | str
    credentialSubject: dict[str, Any] | list[dict[str, Any]]
    # Optional, but never null: a default of None that the validator does not accept from a client.
    id: str = Field(None, description="an IRI; urn:uuid:<uuid4> when absent")  # type: ignore[assignment]
    issuer: str | dict[str, Any] = Field(None, description="the tenant's DID (or an object with it as id); set to "
                                                           "it when absent")  # type: ignore[assignment]


class IssueCredentialRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"credential": _EXAMPLE_CREDENTIAL}]})
    credential: UnsignedCredential
    options: IssueOptions = Field(default_factory=IssueOptions)


class IssueCredentialResponse(BaseModel):
    verifiableCredential: dict[str, Any] = Field(description="the credential signed with eddsa-rdfc-2022; its "
                                                             "merkle-proof-2019 proof is added once its batch is anchored")


# ── API keys ────────────────────────────────────────────────────────────────────────────────────────────────

class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    scopes: list[ScopeName] = Field(min_length=1)


class KeyOut(BaseModel):
    id: int
    name: str
    prefix: str
    scopes: list[str]
    created_at: str | None
    revoked_at: str | None
    last_used_at: str | None

    @classmethod
    def of(cls, k: ApiKey) -> KeyOut:
        return cls(id=k.id, name=k.name, prefix=k.prefix, scopes=list(k.scopes), created_at=_iso(k.created_at),
                   revoked_at=_iso(k.revoked_at), last_used_at=_iso(k.last_used_at))


class KeyCreated(KeyOut):
    key: str = Field(description="the key, shown this once: it is stored only as a hash")


class KeyList(BaseModel):
    items: list[KeyOut]


RosterIssued.model_rebuild()
