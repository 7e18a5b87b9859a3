"""Presenting credentials: a Verifiable Presentation (VCDM 2.0 §4.13) signed by the learner's did:key.

The proof is a ``DataIntegrityProof`` (eddsa-rdfc-2022) with ``proofPurpose: authentication`` and the verifier's
``challenge`` and ``domain`` as signed proof options (VC Data Integrity 1.0 §2.1), so the presentation answers one
request and cannot be replayed to another verifier or another request. ``verifier/presentation.py`` checks it,
holder binding included: the signer must be the ``holder`` and the subject of every credential. The wallet refuses
up front to present a credential about someone else, rather than sign something that will fail.
"""

from __future__ import annotations

import copy
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from verifier.dataintegrity import create_eddsa_proof
from wallet.errors import PresentError
from wallet.store import Entry, Wallet

VC2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
MAX_CREDENTIALS = 100
MAX_OPTION = 512  # characters of a challenge or domain
DEFAULT_LIFETIME = timedelta(minutes=15)


def subject_ids(credential: dict[str, Any]) -> list[str]:
    subjects = credential.get("credentialSubject")
    subjects = subjects if isinstance(subjects, list) else [subjects]
    return [s["id"] for s in subjects if isinstance(s, dict) and isinstance(s.get("id"), str)]


def build_presentation(wallet: Wallet, entries: list[Entry], *, challenge: str | None, domain: str | None,
                       now: datetime | None = None, lifetime: timedelta | None = DEFAULT_LIFETIME) -> dict[str, Any]:
    """A VP of ``entries`` signed by the wallet's holder, bound to ``challenge`` and ``domain``.

    ``lifetime``: the proof's ``expires`` (None: no expiry); a verifier refuses the presentation after it.
    """
    if not entries:
        raise PresentError("choose at least one credential to present")
    if len(entries) > MAX_CREDENTIALS:
        raise PresentError(f"at most {MAX_CREDENTIALS} credentials in one presentation, got {len(entries)}")
    for name, value in (("challenge", challenge), ("domain", domain)):
        if value is not None and (not value.strip() or len(value) > MAX_OPTION):
            raise PresentError(f"the {name} must be 1-{MAX_OPTION} characters, got {len(value)}")
    holder = wallet.holder_did
    for entry in entries:
        ids = subject_ids(entry.credential)
        if holder not in ids:
            about = ", ".join(ids) or "no subject id"
            raise PresentError(f"credential {entry.id} ({entry.credential_id or 'no id'}) is about {about}, not this "
                               f"wallet's holder {holder}: a verifier would refuse the holder binding")
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).replace(microsecond=0)
    vp: dict[str, Any] = {
        "@context": [VC2_CONTEXT],
        "id": f"urn:uuid:{uuid.uuid4()}",
        "type": ["VerifiablePresentation"],
        "holder": holder,
        "verifiableCredential": [copy.deepcopy(e.credential) for e in entries],
    }
    options: dict[str, Any] = {}
    if challenge is not None:
        options["challenge"] = challenge
    if domain is not None:
        options["domain"] = domain
    if lifetime is not None:
        options["expires"] = (now + lifetime).strftime("%Y-%m-%dT%H:%M:%SZ")
    proof = create_eddsa_proof(vp, sign=wallet.sign, verification_method=wallet.holder_method,
                               created=now.strftime("%Y-%m-%dT%H:%M:%SZ"), proof_purpose="authentication",
                               options=options)
    return {**vp, "proof": proof}


__all__ = ["build_presentation", "subject_ids"]
