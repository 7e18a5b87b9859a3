"""The demo's trust chain: a ministry (RootTAO) -> a QA agency (TAO) -> the demo university (TI), made once.

``anchorcred stack up --ebsi`` (and ``anchorcred trust demo``) call ``ensure_demo_trust``: the ministry's and the
agency's party files live in ``folder`` (0600), the chain is registered on the EBSI-like ledger the first time, and a
university not yet accredited gets its TI accreditation. The verifier then trusts the ministry as its root.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from ebsi.schemas import MICRO_CREDENTIAL_SCHEMA_ID
from ebsi.trust import TO_ACCREDIT, TO_ATTEST, AccreditedFor, accredit, make_root, schema_url
from ebsi.trust_cli import load_party, new_party, save_party
from issuer.ebsi_jwt import EDC_TYPE
from verifier.trustregistry import normalize_attribute_id

OB3_SCHEMA = "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json"
YEARS = 5


def demo_scope(ebsi_url: str, country: str) -> list[AccreditedFor]:
    """Micro-credentials as anchorcred issues them (OB 3.0) and as EBSI-profile JWTs (Europass subject)."""
    return [
        AccreditedFor.for_countries(OB3_SCHEMA, ["VerifiableCredential", "OpenBadgeCredential"], [country]),
        AccreditedFor.for_countries(schema_url(ebsi_url, MICRO_CREDENTIAL_SCHEMA_ID),
                                    ["VerifiableCredential", "VerifiableAttestation", EDC_TYPE], [country]),
    ]


def ensure_demo_trust(ebsi_url: str, *, admin_secret: bytes, folder: Path, university_did: str,
                      country: str = "DE") -> dict[str, Any]:
    """Registers what is missing of the chain; returns {root, tao, ti, attribute ids} (no keys)."""
    from ebsi.trustledger import LedgerRegistryWriter
    from verifier.ledger.ebsi import EbsiReadClient

    demo_root(folder)
    files = {"ministry": folder / "ministry.json", "agency": folder / "agency.json"}
    if not files["agency"].exists():
        save_party(files["agency"], new_party("Quality assurance agency (demo TAO)"))
    ministry, ministry_held = load_party(files["ministry"])
    agency, agency_held = load_party(files["agency"])
    now = datetime.now(timezone.utc).replace(microsecond=0)
    period = dict(accredited_for=demo_scope(ebsi_url, country), valid_from=now - timedelta(minutes=5),
                  valid_until=now + timedelta(days=365 * YEARS), registry_url=ebsi_url)
    read = EbsiReadClient(ebsi_url)
    writer = LedgerRegistryWriter(ebsi_url, admin_secret=admin_secret)
    try:
        def registered(did: str, attribute_id: str) -> bool:
            answer = read.issuer_attribute(did, attribute_id)
            return bool(answer and answer.get("attribute", {}).get("issuerType") not in (None, "Revoked"))

        root = next((a for a in ministry_held if a.role == "RootTAO" and registered(a.subject, a.attribute_id)), None)
        if root is None:
            root = make_root(writer, ministry, **period)
            save_party(files["ministry"], ministry, [root])
        tao = next((a for a in agency_held if a.role == "TAO" and registered(a.subject, a.attribute_id)), None)
        if tao is None:
            tao = accredit(writer, ministry, root, agency, kind=TO_ACCREDIT, **period)
            save_party(files["agency"], agency, [tao])
        ti = None
        for attribute_id in (read.issuer_attribute_ids(university_did) if read.issuer(university_did) else []):
            answer = read.issuer_attribute(university_did, attribute_id) or {}
            attribute = answer.get("attribute", {})
            if attribute.get("issuerType") == "TI" and attribute.get("tao") == agency.did:
                ti = normalize_attribute_id(attribute_id)
        if ti is None:
            ti = accredit(writer, agency, tao, university_did, kind=TO_ATTEST, **period).attribute_id
    finally:
        writer.close()
        read.close()
    return {"root": ministry.did, "tao": agency.did, "ti": university_did, "rootAttribute": root.attribute_id,
            "taoAttribute": tao.attribute_id, "tiAttribute": ti, "registry": ebsi_url}


def demo_root(folder: Path) -> str:
    """The demo ministry's DID (its party file made if absent): what the demo verifier trusts as its root."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "ministry.json"
    if not path.exists():
        save_party(path, new_party("Ministry of Education (demo RootTAO)", "ES256K"))
    return load_party(path)[0].did
