"""Tenants: one issuer (a university) each, with its own keys, did:web DID and anchoring address.

The DID lives under the service's public URL: ``https://issuer.example/tenants/<slug>/did.json`` is the document of
``did:web:issuer.example:tenants:<slug>`` (did:web §3.2: the path segments become ``:``-separated, a port is
``%3A``-encoded). Private keys are stored sealed (``issuer.store.secrets``), bound to the DID and the key's role.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Iterable
from urllib.parse import quote, urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from issuer.achievement import DID_WEB_RE
from issuer.keys import ANCHORING, IssuerIdentity, KeyRecord, anchoring_address_of, new_identity, xsd
from issuer.store.errors import TenantExistsError
from issuer.store.models import Tenant, TenantKey
from issuer.store.secrets import SecretBox

__all__ = ["SLUG_RE", "apply_key_update", "create_tenant", "did_document", "did_for", "get_tenant", "identity_of",
           "key_rows", "retiring_aad", "store_history"]

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")


def did_for(public_url: str, slug: str) -> str:
    """The did:web DID whose document is served at ``<public_url>/tenants/<slug>/did.json``."""
    _check_slug(slug)
    parts = urlsplit(public_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"public_url must be an http(s) URL with a host, got {public_url!r}")
    host = parts.hostname.lower()
    if ":" in host:
        raise ValueError(f"public_url {public_url!r}: did:web cannot name an IPv6 address; use a host name")
    if parts.port is not None:
        host += f"%3A{parts.port}"
    segments = [quote(s, safe="") for s in parts.path.split("/") if s] + ["tenants", slug]
    did = ":".join(["did:web", host, *segments])
    if not DID_WEB_RE.match(did):
        raise ValueError(f"public_url {public_url!r} gives {did!r}, which is not a did:web DID this project accepts")
    return did


def _check_slug(slug: str) -> None:
    if not isinstance(slug, str) or not SLUG_RE.match(slug):
        raise ValueError(f"tenant slug must be 1-64 lower-case letters, digits and inner hyphens, got {slug!r}")


def _aad(did: str, role: str) -> bytes:
    return f"tenant {did} {role} key".encode("utf-8")


def retiring_aad(did: str, number: int) -> bytes:
    """The sealing context of anchoring key ``number`` kept after its rotation (until it recorded its retirement)."""
    return f"tenant {did} secp256k1 key {number} (retiring)".encode("utf-8")


def create_tenant(session: Session, box: SecretBox, *, slug: str, name: str, public_url: str,
                  profile: dict[str, Any] | None = None) -> Tenant:
    """A new tenant with fresh Ed25519 (signing) and secp256k1 (anchoring) keys, sealed with ``box``.

    Added and flushed (so it has its id); the caller commits. A taken slug is a ``TenantExistsError``.
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError("tenant name must not be empty")
    if profile is not None and not isinstance(profile, dict):
        raise ValueError("tenant profile must be a JSON object (country, url, email...)")
    did = did_for(public_url, slug)
    if get_tenant(session, slug) is not None:
        raise TenantExistsError(f"tenant {slug!r} exists already")
    if session.scalar(select(Tenant.id).where(Tenant.did == did)) is not None:
        raise TenantExistsError(f"a tenant with DID {did} exists already")
    identity = new_identity(did)
    tenant = Tenant(
        slug=slug,
        name=name.strip(),
        did=did,
        profile=dict(profile or {}),
        signing_key_enc=box.seal(identity.ed25519_seed, _aad(did, "ed25519")),
        anchoring_key_enc=box.seal(identity.secp256k1_secret, _aad(did, "secp256k1")),
        anchoring_address=identity.anchoring_address,
    )
    session.add(tenant)
    session.flush()
    store_history(session, tenant, identity)
    return tenant


def identity_of(tenant: Tenant, box: SecretBox) -> IssuerIdentity:
    """The tenant's keys, opened (``SecretBoxError`` if ``box`` holds another master secret), with their history
    (``tenant_keys``; none for a tenant made before key history: its two keys read as number 1). Never log it."""
    session = object_session(tenant)
    rows = key_rows(session, tenant.id) if session is not None else []
    return IssuerIdentity(
        tenant.did,
        box.open(tenant.signing_key_enc, _aad(tenant.did, "ed25519")),
        box.open(tenant.anchoring_key_enc, _aad(tenant.did, "secp256k1")),
        tuple(_record(row) for row in rows),
    )


def key_rows(session: Session, tenant_id: int) -> list[TenantKey]:
    return list(session.scalars(select(TenantKey).where(TenantKey.tenant_id == tenant_id)
                                .order_by(TenantKey.role, TenantKey.number)))


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=timezone.utc)  # SQLite hands datetimes back naive (stored in UTC)


def _record(row: TenantKey) -> KeyRecord:
    dates = {name: xsd(_utc(getattr(row, name))) if getattr(row, name) is not None else None
             for name in ("created", "retired", "revoked")}
    return KeyRecord(row.role, row.number, bytes.fromhex(row.public_key), **dates)


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value is not None else None


def store_history(session: Session, tenant: Tenant, identity: IssuerIdentity, *, reason: str | None = None,
                  default_created: datetime | None = None) -> None:
    """Writes ``identity``'s key history into ``tenant_keys`` (rows added or updated; dates never cleared) and its
    current secrets into the tenant. ``reason`` goes on the keys this change retired or revoked."""
    rows = {(r.role, r.number): r for r in key_rows(session, tenant.id)}
    for record in identity.records():
        row = rows.get((record.role, record.number))
        if row is None:
            row = TenantKey(tenant_id=tenant.id, role=record.role, number=record.number,
                            public_key=record.public.hex(), created=_parse(record.created) or default_created)
            session.add(row)
        elif row.public_key != record.public.hex():
            raise ValueError(f"{tenant.slug}: {record.label} would change its public key")
        for name in ("retired", "revoked"):
            value = _parse(getattr(record, name))
            if value is not None and getattr(row, name) is None:
                setattr(row, name, value)
                row.reason = reason
    session.flush()


def apply_key_update(session: Session, box: SecretBox, tenant: Tenant, identity: IssuerIdentity,
                     retiring_secret: bytes | None, *, reason: str | None) -> None:
    """Stores a rotated or revoked identity (``issuer.keyrotation.KeyUpdate``): the new current secrets sealed in the
    tenant, the history, and an anchoring secret rotated out sealed on its own row until it has recorded its
    retirement. Tenants made before key history get their first keys' rows, dated by the tenant's creation."""
    store_history(session, tenant, identity, reason=reason, default_created=_utc(tenant.created_at))
    tenant.signing_key_enc = box.seal(identity.ed25519_seed, _aad(tenant.did, "ed25519"))
    tenant.anchoring_key_enc = box.seal(identity.secp256k1_secret, _aad(tenant.did, "secp256k1"))
    tenant.anchoring_address = identity.anchoring_address
    if retiring_secret is not None:
        for row in key_rows(session, tenant.id):
            record = _record(row)
            if record.role == ANCHORING and record.address == anchoring_address_of(retiring_secret):
                row.retiring_secret_enc = box.seal(retiring_secret, retiring_aad(tenant.did, row.number))
    session.flush()


def did_document(tenant: Tenant, box: SecretBox, chain_ids: int | Iterable[int] | None = None) -> dict[str, Any]:
    """The tenant's did:web document, binding its anchoring address on each chain of ``chain_ids``."""
    return identity_of(tenant, box).did_document(chain_ids)


def get_tenant(session: Session, slug: str) -> Tenant | None:
    return session.scalar(select(Tenant).where(Tenant.slug == slug))
