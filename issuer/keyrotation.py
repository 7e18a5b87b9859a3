"""Rotating and revoking the issuer's keys: pure functions from an identity to the next one and the ledger events
that record the change (``issuer.keyevents`` sends them; ``issuer.keys`` explains the history they build).

Who sends which event (one transaction each, from an anchoring address the DID document binds):

- signing key rotated: the current anchoring address records the new key "added" and the old one "retired";
- signing key revoked: the current anchoring address records it "revoked" (and, if it was current, its replacement
  "added");
- anchoring key rotated: the NEW address records its own "added", then the OLD address records its own "retired"
  before its secret is dropped (``KeyUpdate.retiring_secret`` lives only until then);
- anchoring key revoked (compromised): the replacement records its own "added" and the old key's "revoked"; the
  compromised key is never used again, not even to say it is lost.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime

import coincurve

from issuer.errors import OptionError
from issuer.keys import (ANCHORING, MAX_KEYS_PER_ROLE, SIGNING, IssuerIdentity, KeyChange, KeyRecord, _ed25519_public,
                         _secp256k1_public, xsd)
from verifier.ledger.base import KEY_ADDED, KEY_RETIRED, KEY_REVOKED

__all__ = ["KeyUpdate", "revoke_key", "rotate_key"]


@dataclass(frozen=True)
class KeyUpdate:
    """The outcome of a rotation or revocation: the new identity, the ledger events to record in order, and the
    secret of an anchoring key rotated out, kept until it has recorded its own retirement (then dropped)."""

    identity: IssuerIdentity
    changes: tuple[KeyChange, ...]
    retiring_secret: bytes | None = field(default=None, repr=False)


def _dated(identity: IssuerIdentity) -> tuple[KeyRecord, ...]:
    if identity.did.startswith("did:key:"):
        raise OptionError(f"{identity.did} is a did:key: its key is the DID itself and cannot be rotated or revoked "
                          "(issue as a did:web DID to keep a key history)")
    return identity.records()


def _next_number(records: tuple[KeyRecord, ...], role: str) -> int:
    number = max(r.number for r in records if r.role == role) + 1
    if number > MAX_KEYS_PER_ROLE:
        raise OptionError(f"the {role} key history holds {MAX_KEYS_PER_ROLE} keys already")
    return number


def _with_new_key(identity: IssuerIdentity, role: str, records: list[KeyRecord], when: str
                  ) -> tuple[IssuerIdentity, KeyRecord]:
    number = _next_number(tuple(records), role)
    if role == SIGNING:
        seed = secrets.token_bytes(32)
        record = KeyRecord(SIGNING, number, _ed25519_public(seed), created=when)
        return IssuerIdentity(identity.did, seed, identity.secp256k1_secret, tuple(records + [record])), record
    secret = coincurve.PrivateKey().secret
    record = KeyRecord(ANCHORING, number, _secp256k1_public(secret), created=when)
    return IssuerIdentity(identity.did, identity.ed25519_seed, secret, tuple(records + [record])), record


def rotate_key(identity: IssuerIdentity, role: str, *, now: datetime) -> KeyUpdate:
    """A new key for ``role``; the current one is retired (its signatures and anchors so far stay valid).

    Ledger events: the new key "added" and the old "retired"; for an anchoring key the new address records its own
    addition and the old address records its retirement before its secret is dropped."""
    records = list(_dated(identity))
    when = xsd(now)
    old = identity.current(role)
    records = [replace(r, retired=when) if r == old else r for r in records]
    updated, new = _with_new_key(identity, role, records, when)
    if role == SIGNING:
        sender = identity.current(ANCHORING).number
        changes = (KeyChange(SIGNING, new.number, KEY_ADDED, sender),
                   KeyChange(SIGNING, old.number, KEY_RETIRED, sender))
        return KeyUpdate(updated, changes)
    changes = (KeyChange(ANCHORING, new.number, KEY_ADDED, new.number),
               KeyChange(ANCHORING, old.number, KEY_RETIRED, old.number))
    return KeyUpdate(updated, changes, retiring_secret=identity.secp256k1_secret)


def revoke_key(identity: IssuerIdentity, role: str, number: int | None = None, *, now: datetime) -> KeyUpdate:
    """Revokes key ``number`` of ``role`` (default: the current one), e.g. after a compromise. A current key is
    replaced by a new one at once. Everything sent by the current anchoring key, which for a compromised anchoring
    key is its replacement: the thief's key is never used again (docs/formats.md says why that is safe enough)."""
    records = list(_dated(identity))
    target = identity.current(role) if number is None else identity.record(role, number)
    if target.revoked is not None:
        raise OptionError(f"{target.label} of {identity.did} is revoked already (since {target.revoked})")
    when = xsd(now)
    records = [replace(r, revoked=when) if r == target else r for r in records]
    was_current = target == identity.current(role)
    if not was_current:
        updated = replace(identity, history=tuple(records))
        sender = identity.current(ANCHORING).number
        return KeyUpdate(updated, (KeyChange(role, target.number, KEY_REVOKED, sender),))
    updated, new = _with_new_key(identity, role, records, when)
    sender = updated.current(ANCHORING).number
    changes = (KeyChange(role, new.number, KEY_ADDED, sender), KeyChange(role, target.number, KEY_REVOKED, sender))
    return KeyUpdate(updated, changes)


