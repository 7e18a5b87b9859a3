"""The issuer service's tables (SQLAlchemy 2, typed mappings). Alembic migrations in ``issuer/store/migrations``.

Everything a tenant owns carries ``tenant_id``; every query the service makes filters on it (tenant isolation).
Secrets are never stored in clear: tenant private keys are encrypted with the service's master secret
(``issuer.store.secrets``), API keys and admin passwords are stored as hashes.

The batch lifecycle (``BatchState``) is persisted *before* each side effect, so a process killed at any point resumes
from the last state on restart (``issuer.store.engine``):

    open ──seal──▶ sealed ──sign──▶ signed ──tree──▶ tree_built ──tx signed & saved──▶ anchor_sent
         ──k confirmations──▶ confirmed ──proofs added──▶ delivered          (any state ──▶ failed, with the reason)

``open`` batches collect credentials issued one by one through the VC-API; a roster batch starts ``sealed``.
"""

from __future__ import annotations

import enum
from datetime import datetime, timezone

from sqlalchemy import (JSON, BigInteger, Boolean, DateTime, Enum, ForeignKey, Index, Integer, LargeBinary, String,
                        Text, UniqueConstraint, func)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _now_column() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class BatchState(str, enum.Enum):
    OPEN = "open"              # VC-API credentials join it; signed already (eddsa proof), no Merkle proof yet
    SEALED = "sealed"          # membership fixed; roster batches start here (credentials not yet signed)
    SIGNED = "signed"          # every credential signed, leaves stored
    TREE_BUILT = "tree_built"  # Merkle root stored
    ANCHOR_SENT = "anchor_sent"  # the signed transaction (raw bytes, hash, nonce) stored, then broadcast
    CONFIRMED = "confirmed"    # receipt with k confirmations stored
    DELIVERED = "delivered"    # every credential carries its merkle-proof-2019 proof
    FAILED = "failed"          # stopped with ``error``; nothing anchored twice, nothing lost


TERMINAL_STATES = frozenset({BatchState.DELIVERED, BatchState.FAILED})


class Scope(str, enum.Enum):
    ISSUE = "issue"
    REVOKE = "revoke"
    ADMIN = "admin"


class Tenant(Base):
    """An issuer (a university). Its DID is did:web under the service's public URL: ``/tenants/<slug>/did.json``."""

    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(300), nullable=False)
    did: Mapped[str] = mapped_column(String(300), unique=True, nullable=False)
    # Awarding-body profile defaults (country, url, email...) used when an achievement does not give its own.
    profile: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    signing_key_enc: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)  # Ed25519 seed, AES-GCM sealed
    anchoring_key_enc: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)  # secp256k1 secret, AES-GCM sealed
    anchoring_address: Mapped[str] = mapped_column(String(42), nullable=False)
    created_at: Mapped[datetime] = _now_column()


class ApiKey(Base):
    """``ac_<prefix>_<secret>``: looked up by prefix, checked by SHA-256 of the whole key (high-entropy: no KDF needed)."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    prefix: Mapped[str] = mapped_column(String(16), unique=True, nullable=False)
    secret_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    scopes: Mapped[list] = mapped_column(JSON, nullable=False)  # [Scope.value, ...]
    created_at: Mapped[datetime] = _now_column()
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AdminUser(Base):
    """A person who logs in to a tenant's admin pages. Password stored as scrypt (hashlib) with its parameters."""

    __tablename__ = "admin_users"
    __table_args__ = (UniqueConstraint("tenant_id", "username"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False, index=True)
    username: Mapped[str] = mapped_column(String(100), nullable=False)
    password_hash: Mapped[str] = mapped_column(String(300), nullable=False)
    created_at: Mapped[datetime] = _now_column()


class AchievementRecord(Base):
    """An achievement as the issuer defined it: ``spec`` is the same structure as the CLI's achievement YAML
    (validated with ``issuer.achievement.parse_achievement`` before it is stored)."""

    __tablename__ = "achievements"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # UUID
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False, index=True)
    title: Mapped[str] = mapped_column(String(500), nullable=False)
    spec: Mapped[dict] = mapped_column(JSON, nullable=False)
    created_at: Mapped[datetime] = _now_column()


class RosterUpload(Base):
    """An uploaded roster CSV, its column mapping and the validation outcome; a batch is made from it only when
    every row is valid."""

    __tablename__ = "roster_uploads"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False, index=True)
    achievement_id: Mapped[str] = mapped_column(ForeignKey("achievements.id"), nullable=False)
    filename: Mapped[str] = mapped_column(String(300), nullable=False)
    csv_text: Mapped[str] = mapped_column(Text, nullable=False)
    mapping: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)  # our column -> their column
    row_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    problems: Mapped[list] = mapped_column(JSON, nullable=False, default=list)  # ["row 14: ...", ...]
    batch_id: Mapped[str | None] = mapped_column(ForeignKey("batches.id"))
    created_at: Mapped[datetime] = _now_column()


class LeasedTransaction:
    """The columns of a row a LeasedWorker drives to one ledger transaction (a batch's anchor, a status
    publication): the signed transaction is stored (nonce, raw bytes, hash) before it is broadcast and rebroadcast
    as-is on resume; the receipt once mined; the reason if it failed; the lease of the worker driving it (another may
    take over once ``lease_until`` has passed)."""

    chain_id: Mapped[int | None] = mapped_column(BigInteger)
    anchoring_address: Mapped[str | None] = mapped_column(String(42))
    nonce: Mapped[int | None] = mapped_column(BigInteger)
    raw_tx: Mapped[bytes | None] = mapped_column(LargeBinary)
    tx_hash: Mapped[str | None] = mapped_column(String(66))
    block_number: Mapped[int | None] = mapped_column(BigInteger)
    block_hash: Mapped[str | None] = mapped_column(String(66))
    block_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    gas_used: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Batch(LeasedTransaction, Base):
    __tablename__ = "batches"
    __table_args__ = (Index("ix_batches_tenant_state", "tenant_id", "state"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)
    achievement_id: Mapped[str | None] = mapped_column(ForeignKey("achievements.id"))  # None: a VC-API batch
    state: Mapped[BatchState] = mapped_column(Enum(BatchState, native_enum=False, length=16), nullable=False)
    total: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    done: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # progress within the current stage
    stage: Mapped[str] = mapped_column(String(32), nullable=False, default="")
    merkle_root: Mapped[str | None] = mapped_column(String(64), unique=True)  # hex
    created_at: Mapped[datetime] = _now_column()
    sealed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                 onupdate=func.now(), nullable=False)

    credentials: Mapped[list[CredentialRecord]] = relationship(back_populates="batch", order_by="CredentialRecord.position")


class CredentialRecord(Base):
    """One credential. ``document`` is its latest form: signed (eddsa-rdfc-2022), then with merkle-proof-2019 once its
    batch is anchored. ``share_token`` names it in public links (unguessable, revocable by regenerating)."""

    __tablename__ = "credentials"
    __table_args__ = (UniqueConstraint("batch_id", "position"), Index("ix_credentials_tenant_batch", "tenant_id", "batch_id"))

    id: Mapped[str] = mapped_column(String(100), primary_key=True)  # the credential's id, urn:uuid:...
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)
    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id"), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)  # leaf index in the batch's tree
    learner: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)  # roster row (name, email, ...)
    document: Mapped[dict | None] = mapped_column(JSON)  # None until signed (roster batches sign in the job)
    leaf: Mapped[str | None] = mapped_column(String(64))  # hex SHA-256 of the signed document's canonical form
    share_token: Mapped[str] = mapped_column(String(43), unique=True, nullable=False)
    created_at: Mapped[datetime] = _now_column()
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                 onupdate=func.now(), nullable=False)

    batch: Mapped[Batch] = relationship(back_populates="credentials")


# ── status lists (W3C Bitstring Status List; issuer.status) ──────────────────────────────────────────────────────

class StatusPurpose(str, enum.Enum):
    REVOCATION = "revocation"  # for good
    SUSPENSION = "suspension"  # can be lifted (reinstate)


class StatusAction(str, enum.Enum):
    REVOKE = "revoke"        # revocation bit set (never cleared)
    SUSPEND = "suspend"      # suspension bit set
    REINSTATE = "reinstate"  # suspension bit cleared


class PublicationState(str, enum.Enum):
    """A publication of one status list, persisted before each side effect (like a batch):

        pending ──list signed, digest stored──▶ signed ──tx signed & saved, then broadcast──▶ sent
                ──k confirmations──▶ published (the list is served from it)          (any ──▶ failed)
    """

    PENDING = "pending"
    SIGNED = "signed"
    SENT = "sent"
    PUBLISHED = "published"
    FAILED = "failed"


class StatusList(Base):
    """One bitstring status list of a tenant, for one purpose, served at ``url`` (``/tenants/<slug>/status/<id>``).

    ``revision`` counts the changes of its bits (1 at creation: the empty list must be published too);
    ``published_revision`` is the revision the served list shows. The served list credential, its digest and the
    registry version are copied here when a publication lands, so serving it reads one row."""

    __tablename__ = "status_lists"
    __table_args__ = (Index("ix_status_lists_tenant_purpose", "tenant_id", "purpose"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # UUID, the last segment of the URL
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)
    purpose: Mapped[StatusPurpose] = mapped_column(Enum(StatusPurpose, native_enum=False, length=16), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    url: Mapped[str] = mapped_column(String(500), unique=True, nullable=False)
    revision: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    published_revision: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    document: Mapped[dict | None] = mapped_column(JSON)  # the served list credential (signed)
    digest: Mapped[str | None] = mapped_column(String(64))  # hex SHA-256 of its canonical form, as anchored
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # the registry's version of it
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # Last-Modified
    created_at: Mapped[datetime] = _now_column()


class StatusEntry(Base):
    """A credential's index in a list for one purpose, and the bit it should have (``value``).

    No foreign key to ``credentials``: a VC-API credential carries its entries inside what is signed, so they are
    allocated before its row exists (both are written in the same transaction)."""

    __tablename__ = "status_entries"
    __table_args__ = (UniqueConstraint("list_id", "list_index"),
                      Index("ix_status_entries_tenant_credential", "tenant_id", "credential_id"))

    credential_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    purpose: Mapped[StatusPurpose] = mapped_column(Enum(StatusPurpose, native_enum=False, length=16),
                                                   primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)
    list_id: Mapped[str] = mapped_column(ForeignKey("status_lists.id", ondelete="CASCADE"), nullable=False)
    list_index: Mapped[int] = mapped_column(Integer, nullable=False)
    value: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class StatusChange(Base):
    """One revoke / suspend / reinstate of one credential: who, when, why. It is published once the list's
    ``published_revision`` reaches ``list_revision`` (the revision this change made)."""

    __tablename__ = "status_changes"
    __table_args__ = (Index("ix_status_changes_tenant_credential", "tenant_id", "credential_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)
    credential_id: Mapped[str] = mapped_column(String(100), nullable=False)
    action: Mapped[StatusAction] = mapped_column(Enum(StatusAction, native_enum=False, length=16), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    actor: Mapped[str] = mapped_column(String(200), nullable=False)  # "api key <prefix>", "admin <user>", "cli ..."
    list_id: Mapped[str] = mapped_column(ForeignKey("status_lists.id", ondelete="CASCADE"), nullable=False)
    list_revision: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = _now_column()


class StatusPublication(LeasedTransaction, Base):
    """One publication of one list: the signed list credential, then ONE ``publishStatus(listId, digest)``
    transaction, whatever the number of changes it carries. Same never-twice rules and lease as a batch."""

    __tablename__ = "status_publications"
    __table_args__ = (Index("ix_status_publications_list_state", "list_id", "state"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)
    list_id: Mapped[str] = mapped_column(ForeignKey("status_lists.id", ondelete="CASCADE"), nullable=False)
    state: Mapped[PublicationState] = mapped_column(Enum(PublicationState, native_enum=False, length=16),
                                                    nullable=False)
    revision: Mapped[int] = mapped_column(Integer, nullable=False)  # the list revision it shows
    ones: Mapped[int | None] = mapped_column(Integer)  # bits set in it
    document: Mapped[dict | None] = mapped_column(JSON)
    digest: Mapped[str | None] = mapped_column(String(64), unique=True)
    version: Mapped[int | None] = mapped_column(Integer)  # the registry's version once mined
    created_at: Mapped[datetime] = _now_column()
    # Set here, not by the database: SQLite's CURRENT_TIMESTAMP has whole seconds, which made ``min_interval`` up to
    # a second short (the publisher compares it with the time of the last publication).
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                 default=_utcnow, onupdate=_utcnow, nullable=False)


# ── key history (issuer.keys; docs/formats.md "Key history") ─────────────────────────────────────────────────────

class TenantKey(Base):
    """One key a tenant used (``issuer.keys.KeyRecord``): role, number, public key and dates. The current keys'
    secrets stay sealed in ``tenants``; an anchoring key rotated out keeps its sealed secret here only until it has
    recorded its own retirement on the ledger (then it is dropped)."""

    __tablename__ = "tenant_keys"
    __table_args__ = (UniqueConstraint("tenant_id", "role", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False)  # "signing" | "anchoring"
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    public_key: Mapped[str] = mapped_column(String(66), nullable=False)  # hex: Ed25519 raw, secp256k1 compressed
    created: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    retired: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str | None] = mapped_column(Text)  # why it was rotated or revoked (the issuer's records)
    retiring_secret_enc: Mapped[bytes | None] = mapped_column(LargeBinary)


class KeyEventState(str, enum.Enum):
    """A key event's ``recordKeyEvent`` transaction, persisted before each side effect (like a batch's anchor):

        pending ──tx signed & saved, then broadcast──▶ sent ──mined, k confirmations──▶ recorded     (any ──▶ failed)
    """

    PENDING = "pending"
    SENT = "sent"
    RECORDED = "recorded"
    FAILED = "failed"


class TenantKeyEvent(Base):
    """One key event of a tenant to record on the ledger, in ``id`` order: ``kind`` (1 added, 2 retired, 3 revoked)
    of its key (role, number), sent by its anchoring key ``sender`` (a number)."""

    __tablename__ = "tenant_key_events"
    __table_args__ = (Index("ix_tenant_key_events_tenant_state", "tenant_id", "state"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    kind: Mapped[int] = mapped_column(Integer, nullable=False)
    sender: Mapped[int] = mapped_column(Integer, nullable=False)
    state: Mapped[KeyEventState] = mapped_column(Enum(KeyEventState, native_enum=False, length=16), nullable=False)
    chain_id: Mapped[int | None] = mapped_column(BigInteger)
    anchoring_address: Mapped[str | None] = mapped_column(String(42))
    nonce: Mapped[int | None] = mapped_column(BigInteger)
    raw_tx: Mapped[bytes | None] = mapped_column(LargeBinary)
    tx_hash: Mapped[str | None] = mapped_column(String(66))
    block_number: Mapped[int | None] = mapped_column(BigInteger)
    block_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _now_column()
