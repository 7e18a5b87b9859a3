"""EBSI-profile JWT credentials checked by EBSI's own JavaScript library, @cef-ebsi/verifiable-credential 5.5.0.

The EBSI-like ledger's facade runs on a free local port (embedded chain, uvicorn in a thread); the trust chain
RootTAO -> TAO -> TI is registered through its write API; the TI publishes a status list under its TIR proxy; the
issuer emits JWTs of a real anchorcred batch. The library, pointed at the facade and refused every other URL, must
accept the valid JWT and reject the tampered, expired, revoked and unaccredited ones, each for its own reason.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import socket
import subprocess
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

pytestmark = pytest.mark.node

HERE = Path(__file__).resolve().parent
LIBRARY = HERE / "node_modules" / "@cef-ebsi" / "verifiable-credential"


@pytest.fixture(scope="module")
def node_ready() -> None:
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{' and '.join(missing)} not found on PATH: the EBSI library cross-check must run under CI")
        pytest.skip(f"{' and '.join(missing)} not found on PATH: the EBSI library cross-check needs Node.js and npm")
    if not LIBRARY.is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=HERE, check=True, timeout=600)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def facade():
    """The ledger's facade on http://127.0.0.1:<free port>, stopped at the end of the module."""
    import uvicorn

    from ebsi.embedded import EmbeddedEbsiChain
    from ebsi.service.app import create_app
    from ebsi.service.settings import EbsiSettings

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    chain = EmbeddedEbsiChain()
    app = create_app(EbsiSettings(onboarding="open", public_url=base), ledger=chain.ledger())
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"the EBSI facade did not start on port {port}")
        time.sleep(0.05)
    yield base, chain
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def issued(facade, tmp_path_factory):
    """The chain, the TI's status list (credential 1 revoked) and the JWTs to check, by name."""
    import httpx

    from ebsi.schemas import MICRO_CREDENTIAL_SCHEMA_ID
    from ebsi.trust import AccreditedFor, Party, accredit, create_chain, schema_url
    from ebsi.trustledger import LedgerRegistryWriter
    from issuer.ebsi_jwt import (
        EDC_TYPE, JwtSigner, StatusEntry, ebsi_attestation, new_ebsi_did, sign_credential_jwt, status_list_url,
        status_list_vc,
    )
    from tests.batchkit import embedded_batch
    from verifier.trust import TO_ATTEST

    base, chain = facade
    now = datetime.now(timezone.utc).replace(microsecond=0)
    _, batch = embedded_batch(tmp_path_factory.mktemp("ebsi-jwt") / "out")
    holders = [i for i in range(len(batch.result.files))
               if str(batch.credential(i)["credentialSubject"]["id"]).startswith("did:key:")]  # EBSI needs a DID

    def party(name: str, alg: str = "ES256") -> Party:
        return Party(name, JwtSigner.generate(new_ebsi_did(), alg), secrets.token_bytes(32))

    writer = LedgerRegistryWriter(base, admin_secret=chain.admin.key)
    ministry, agency, university = party("Ministry", "ES256K"), party("Agency"), party("University")
    micro = schema_url(base, MICRO_CREDENTIAL_SCHEMA_ID)
    scope = [AccreditedFor.for_countries(micro, ["VerifiableCredential", "VerifiableAttestation", EDC_TYPE], ["DE"])]
    period = dict(valid_from=now - timedelta(days=30), valid_until=now + timedelta(days=365), registry_url=base)
    trust = create_chain(writer, ministry, agency, university, accredited_for=scope, **period)
    # A second university signing with ES256K (secp256k1, low-S signatures).
    polytechnic = party("Polytechnic", "ES256K")
    polytechnic_ti = accredit(writer, agency, trust.tao, polytechnic, kind=TO_ATTEST, accredited_for=scope, **period)
    # A college accredited for something else only: its micro-credentials are unaccredited.
    college = party("College")
    other = [AccreditedFor.for_countries(micro, ["VerifiableCredential", "VerifiableAttestation", "VerifiableDiploma"],
                                         ["DE"])]
    college_ti = accredit(writer, agency, trust.tao, college, kind=TO_ATTEST, accredited_for=other, **period)

    proxies = {}
    for who in (university, college, polytechnic):
        proxies[who.did] = writer.add_proxy(who, {"prefix": f"{base}/issuer/{who.name}", "headers": {},
                                                  "testSuffix": "/credentials/status/1"})
    lists = {who.did: status_list_url(base, who.did, proxies[who.did], "1") for who in (university, college, polytechnic)}
    for who, revoked in ((university, {holders[1]}), (college, set()), (polytechnic, set())):
        vc = status_list_vc(issuer_did=who.did, list_url=lists[who.did], revoked=revoked, issued=now, registry_url=base)
        put = httpx.put(lists[who.did], content=sign_credential_jwt(vc, who.signer),
                        headers={"Content-Type": "application/jwt"}, timeout=30)
        assert put.status_code == 204, put.text

    def jwt(n: int, who: Party, accreditation: str, *, change=None) -> str:
        i = holders[n]
        vc = ebsi_attestation(batch.credential(i), issuer_did=who.did, registry_url=base,
                              accreditation_url=accreditation, status=StatusEntry(lists[who.did], i),
                              schema_id=MICRO_CREDENTIAL_SCHEMA_ID)
        if change:
            change(vc)
        return sign_credential_jwt(vc, who.signer)

    def expire(vc):
        vc["validFrom"] = vc["issuanceDate"] = vc["issued"] = (now - timedelta(days=20)).strftime("%Y-%m-%dT%H:%M:%SZ")
        vc["expirationDate"] = (now - timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%SZ")

    valid = jwt(0, university, trust.ti.link(base))
    head, body, sig = valid.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=="))
    claims["vc"]["credentialSubject"]["hasClaim"]["title"] = {"en": "Doctor of Everything"}
    tampered = ".".join([head, base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode(), sig])
    jwts = {
        "valid": valid,
        "foreign_key": jwt(2, Party("University", JwtSigner.generate(university.did, "ES256K")), trust.ti.link(base)),
        # ECDSA signatures are random: six different ones
        **{f"es256k_{n}": jwt(2, polytechnic, polytechnic_ti.link(base)) for n in range(6)},
        "tampered": tampered,
        "expired": jwt(3, university, trust.ti.link(base), change=expire),
        "revoked": jwt(1, university, trust.ti.link(base)),
        "unaccredited": jwt(0, college, college_ti.link(base)),
    }
    return base, jwts


def _run(base: str, jwts: dict[str, str], tmp_path: Path) -> dict:
    path = tmp_path / "input.json"
    path.write_text(json.dumps({"base": base, "jwts": jwts}), encoding="utf-8")
    run = subprocess.run(["node", str(HERE / "ebsi_verify.mjs"), str(path)], capture_output=True, text=True,
                         timeout=300, check=False)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    print(json.dumps(out["results"], indent=1))  # shown on failure: each JWT's verdict and the library's reason
    return out


def test_the_ebsi_library_accepts_valid_jwts_and_rejects_each_bad_one(node_ready, issued, tmp_path):
    base, jwts = issued
    out = _run(base, {k: v for k, v in jwts.items() if k in ("valid", "tampered", "expired", "revoked", "unaccredited")},
               tmp_path)
    results = out["results"]
    assert out["refused"] == []  # nothing but the local facade was asked
    assert results["valid"] == {"verified": True, "error": None}
    assert results["tampered"]["verified"] is False
    assert "VC JWT validation failed" in results["tampered"]["error"]
    assert results["expired"]["verified"] is False
    assert "The Credential is not valid after" in results["expired"]["error"]
    assert results["revoked"] == {"verified": False, "error": "The credential is revoked"}
    assert results["unaccredited"]["verified"] is False
    assert 'is not accredited to issue credentials with type ["EuropeanDigitalCredential"]' in results["unaccredited"]["error"]


def test_es256k_jwts_verify_and_a_key_outside_the_did_document_is_refused(node_ready, issued, tmp_path):
    base, jwts = issued
    results = _run(base, {k: v for k, v in jwts.items() if k.startswith(("es256k_", "foreign_key"))}, tmp_path)["results"]
    for n in range(6):
        assert results[f"es256k_{n}"] == {"verified": True, "error": None}
    assert results["foreign_key"]["verified"] is False
    assert results["foreign_key"]["error"].startswith("VC JWT validation failed: Verification method did:ebsi:")
    assert results["foreign_key"]["error"].endswith(" not found.")
