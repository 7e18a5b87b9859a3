"""EBSI-profile JWT credentials (issuer/ebsi_jwt.py) and what they point at on the facade (ebsi/service/attestations.py)."""

from __future__ import annotations

import base64
import gzip
import json
import secrets
from datetime import datetime, timedelta, timezone

import pytest

from ebsi.schemas import MICRO_CREDENTIAL_SCHEMA, MICRO_CREDENTIAL_SCHEMA_ID, schema_id
from ebsi.trust import AccreditedFor, Party, create_chain
from ebsi.trustledger import LedgerRegistryWriter
from issuer.ebsi_jwt import (
    EDC_TYPE, JwtSigner, StatusEntry, ebsi_attestation, ebsi_did_key, new_ebsi_did, sign_credential_jwt,
    status_list_url, status_list_vc,
)
from tests.batchkit import embedded_batch
from tests.ebsi.kit import BASE
from verifier import keys
from verifier.base58btc import b58decode
from verifier.jwtvc import JwtFormatError, decode_credential_jwt, verify_jwt_signature

NOW = datetime(2026, 3, 1, 9, 30, tzinfo=timezone.utc)
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def _claims(token: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))


def _vc(signer: JwtSigner, **extra) -> dict:
    return {"@context": ["https://www.w3.org/2018/credentials/v1"], "id": "urn:uuid:0b6d", "issuer": signer.did,
            "type": ["VerifiableCredential", "VerifiableAttestation"], "issuanceDate": "2026-03-01T09:30:00Z",
            "validFrom": "2026-03-01T09:30:00Z", "issued": "2026-03-01T09:00:00Z",
            "credentialSubject": {"id": "did:key:z2dmzD81"}, **extra}


@pytest.mark.parametrize("alg", ["ES256", "ES256K"])
def test_a_credential_jwt_has_the_ebsi_header_and_claims(alg):
    signer = JwtSigner.generate(new_ebsi_did(), alg)
    token = sign_credential_jwt(_vc(signer, expirationDate="2027-03-01T09:30:00Z"), signer)
    jwt = decode_credential_jwt(token)
    assert dict(jwt.header) == {"alg": alg, "typ": "JWT", "kid": signer.kid}
    assert signer.kid == f"{signer.did}#{signer.key.thumbprint()}"
    claims = _claims(token)
    assert {k: claims[k] for k in ("jti", "sub", "iss", "nbf", "exp", "iat")} == {
        "jti": "urn:uuid:0b6d", "sub": "did:key:z2dmzD81", "iss": signer.did, "nbf": 1772357400,
        "exp": 1803893400, "iat": 1772355600}
    assert verify_jwt_signature(jwt, signer.public_jwk())
    assert not verify_jwt_signature(jwt, JwtSigner.generate(signer.did, alg).public_jwk())


def test_es256k_signatures_are_low_s():
    signer = JwtSigner.generate(new_ebsi_did(), "ES256K")
    for _ in range(40):
        token = sign_credential_jwt(_vc(signer), signer)
        raw = base64.urlsafe_b64decode(token.split(".")[2] + "==")
        assert int.from_bytes(raw[32:], "big") <= N // 2
        assert verify_jwt_signature(decode_credential_jwt(token), signer.public_jwk())


def test_misuse_is_refused_and_keys_never_shown():
    signer = JwtSigner.generate(new_ebsi_did())
    with pytest.raises(ValueError, match="is not the signer's DID"):
        sign_credential_jwt({**_vc(signer), "issuer": new_ebsi_did()}, signer)
    with pytest.raises(ValueError, match="must be equal"):
        sign_credential_jwt({**_vc(signer), "validFrom": "2026-03-02T00:00:00Z"}, signer)
    party = Party("x", signer, b"\x07" * 32)
    assert signer.private_jwk()["d"] not in repr(party) and "controller_secret" not in repr(party)
    with pytest.raises(ValueError, match="needs a P-256 key"):
        JwtSigner(signer.did, "ES256", JwtSigner.generate(signer.did, "ES256K").key)


def test_decoding_refuses_what_is_not_an_ebsi_credential_jwt():
    signer = JwtSigner.generate(new_ebsi_did())
    head, body, sig = sign_credential_jwt(_vc(signer), signer).split(".")

    def header(**h) -> str:
        return base64.urlsafe_b64encode(json.dumps(h).encode()).rstrip(b"=").decode()

    for bad, reason in [
        ("a.b", "three dot-separated parts"),
        (f"{header(alg='HS256', typ='JWT', kid=signer.kid)}.{body}.{sig}", "alg"),
        (f"{header(alg='ES256', typ='vc+jwt', kid=signer.kid)}.{body}.{sig}", "typ"),
        (f"{header(alg='ES256', typ='JWT', kid='k1')}.{body}.{sig}", "kid"),
        (f"{head}.{header(iss='x')}.{sig}", "'vc' claim"),
    ]:
        with pytest.raises(JwtFormatError, match=reason):
            decode_credential_jwt(bad)


def test_ebsi_dids_and_did_keys():
    did = new_ebsi_did(bytes(range(16)))
    assert b58decode(did.removeprefix("did:ebsi:z")) == b"\x01" + bytes(range(16))
    ed = keys.did_key_from_ed25519(bytes(32))
    converted = ebsi_did_key(ed)
    raw = b58decode(converted.removeprefix("did:key:z"))
    assert raw[:3] == b"\xd1\xd6\x03"  # multicodec jwk_jcs-pub
    assert json.loads(raw[3:]) == {"crv": "Ed25519", "kty": "OKP", "x": base64.urlsafe_b64encode(bytes(32)).rstrip(b"=").decode()}
    assert raw[3:] == b'{"crv":"Ed25519","kty":"OKP","x":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}'
    assert ebsi_did_key(converted) == converted


def test_a_status_list_sets_bits_most_significant_first():
    vc = status_list_vc(issuer_did=new_ebsi_did(), list_url="http://x/l/1", revoked={0, 9, 131_071}, issued=NOW,
                        registry_url="http://x")
    encoded = vc["credentialSubject"]["encodedList"]
    assert "=" not in encoded  # the EBSI library decodes base64 without padding
    bits = gzip.decompress(base64.b64decode(encoded + "=" * (-len(encoded) % 4)))
    assert len(bits) == 16_384 and bits[0] == 0x80 and bits[1] == 0x40 and bits[-1] == 0x01 and sum(bits) == 0xC1
    with pytest.raises(ValueError):
        status_list_vc(issuer_did="did:ebsi:z1", list_url="u", revoked={131_072}, issued=NOW, registry_url="r")


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    return embedded_batch(tmp_path_factory.mktemp("jwt") / "out")[1]


def _holder_index(batch) -> int:
    return next(i for i in range(len(batch.result.files))
                if batch.credential(i)["credentialSubject"]["id"].startswith("did:key:"))


def test_the_attestation_carries_the_europass_subject_and_the_trust_links(batch):
    issuer = new_ebsi_did()
    status = StatusEntry(status_list_url(BASE, issuer, "0x" + "ab" * 32, "1"), 7)
    credential = batch.credential(_holder_index(batch))
    vc = ebsi_attestation(credential, issuer_did=issuer, registry_url=BASE, accreditation_url=f"{BASE}/acc",
                          status=status, schema_id=MICRO_CREDENTIAL_SCHEMA_ID)
    assert vc["type"] == ["VerifiableCredential", "VerifiableAttestation", EDC_TYPE]
    assert vc["@context"][0] == "https://www.w3.org/2018/credentials/v1"
    assert vc["issuer"]["id"] == issuer and vc["issuer"]["type"] == "Organisation"
    assert vc["issuer"]["location"]["address"]["countryCode"]["id"].endswith("/country/DEU")
    assert vc["credentialSubject"]["id"] == ebsi_did_key(credential["credentialSubject"]["id"])
    claim = vc["credentialSubject"]["hasClaim"]
    assert claim["type"] == "LearningAchievement" and claim["specifiedBy"]["creditPoint"]["point"] == "5"
    assert vc["termsOfUse"] == {"id": f"{BASE}/acc", "type": "IssuanceCertificate"}
    assert vc["credentialStatus"] == {"id": f"{status.list_url}#7", "type": "StatusList2021Entry",
                                      "statusPurpose": "revocation", "statusListIndex": "7",
                                      "statusListCredential": status.list_url}
    assert [s["id"].rsplit("/", 1)[1] for s in vc["credentialSchema"]] == [
        "zDpWGUBenmqXzurskry9Nsk6vq2R8thh9VSeoRqguoyMD", MICRO_CREDENTIAL_SCHEMA_ID]
    assert vc["validFrom"] == vc["issuanceDate"] == credential["validFrom"]
    assert MICRO_CREDENTIAL_SCHEMA_ID == schema_id(json.loads(json.dumps(MICRO_CREDENTIAL_SCHEMA)))


def test_a_learner_without_a_did_cannot_get_an_ebsi_attestation(batch):
    credential = batch.credential(_holder_index(batch))
    credential["credentialSubject"]["id"] = "urn:uuid:9a4b6a1c-0000-4000-8000-000000000001"
    with pytest.raises(ValueError, match="identifies the learner by a did:key"):
        ebsi_attestation(credential, issuer_did=new_ebsi_did(), registry_url=BASE, accreditation_url="x",
                         status=StatusEntry("u", 0), schema_id="z")


# ── the facade's status lists and schema ─────────────────────────────────────────────────────────────────────
@pytest.fixture()
def published(kit):
    writer = LedgerRegistryWriter(BASE, admin_secret=kit.chain.admin.key, http=kit.http)
    parties = [Party(n, JwtSigner.generate(new_ebsi_did()), secrets.token_bytes(32)) for n in ("R", "A", "U")]
    now = datetime.now(timezone.utc)
    create_chain(writer, *parties, accredited_for=[AccreditedFor.for_countries("http://s", ["X"], ["DE"])],
                 valid_from=now - timedelta(days=1), valid_until=now + timedelta(days=9), registry_url=BASE)
    university = parties[2]
    proxy = writer.add_proxy(university, {"prefix": "https://uni.example/status", "headers": {}, "testSuffix": "/1"})
    url = status_list_url(BASE, university.did, proxy, "1")
    return kit, university, url, now


def _put(kit, url, signer, *, revoked=frozenset(), issued, list_url=None):
    vc = status_list_vc(issuer_did=signer.did, list_url=list_url or url, revoked=set(revoked), issued=issued,
                        registry_url=BASE)
    return kit.http.put(url.removeprefix(BASE), content=sign_credential_jwt(vc, signer),
                        headers={"Content-Type": "application/jwt"})


def test_a_status_list_is_published_by_its_issuer_and_served_as_a_jwt(published):
    kit, university, url, now = published
    assert kit.http.get(url.removeprefix(BASE)).status_code == 404
    assert _put(kit, url, university.signer, revoked={3}, issued=now).status_code == 204
    got = kit.http.get(url.removeprefix(BASE))
    assert got.status_code == 200 and got.headers["content-type"].startswith("application/jwt")
    assert _claims(got.text)["vc"]["id"] == url


def test_status_list_writes_are_authenticated_and_never_rolled_back(published):
    kit, university, url, now = published
    stranger = JwtSigner.generate(university.did)  # claims the university's DID, key not in its DID document
    refused = _put(kit, url, stranger, issued=now)
    assert refused.status_code == 403 and "is not an assertionMethod" in refused.json()["detail"]
    assert _put(kit, url, university.signer, revoked={3}, issued=now).status_code == 204
    replay = _put(kit, url, university.signer, issued=now - timedelta(hours=1))  # an older list, bit 3 clear
    assert replay.status_code == 400 and "not newer" in replay.json()["detail"]
    elsewhere = _put(kit, url, university.signer, issued=now + timedelta(seconds=5), list_url=url + "0")
    assert elsewhere.status_code == 400 and "whose id is" in elsewhere.json()["detail"]
    unknown = status_list_url(BASE, university.did, "0x" + secrets.token_hex(32), "1")
    no_proxy = _put(kit, unknown, university.signer, issued=now + timedelta(seconds=9))
    assert no_proxy.status_code == 404 and "has no proxy" in no_proxy.json()["detail"]


def test_the_micro_credential_schema_is_served_under_its_id(kit):
    got = kit.http.get(f"/trusted-schemas-registry/v3/schemas/{MICRO_CREDENTIAL_SCHEMA_ID}")
    assert got.status_code == 200 and got.json() == MICRO_CREDENTIAL_SCHEMA
    assert kit.http.get("/trusted-schemas-registry/v3/schemas/zNope").status_code == 404
