"""Trusted Issuers Registry API v5 on the embedded chain: the trust chain RootTAO -> TAO -> TI, who may accredit
whom, revocation, revisions, proxies, and EBSI's read shapes."""

from __future__ import annotations

import json

import pytest

from ebsi.client import EbsiWriteError
from tests.ebsi.kit import REVOKED, ROOT_TAO, TAO, TI, attribute_id

TIR = "/trusted-issuers-registry/v5"


def _attribute(kit, party, aid=None):
    answer = kit.http.get(f"{TIR}/issuers/{party.did}/attributes/{(aid or party.attribute_id)[2:]}")
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_root_tao_to_tao_to_ti_is_inserted_and_read_back(kit):
    root, tao, ti = kit.trust_chain()
    for party, kind, accreditor, body in ((root, "RootTAO", root, "root accreditation"),
                                         (tao, "TAO", root, "tao accreditation"),
                                         (ti, "TI", tao, "ti accreditation")):
        answer = _attribute(kit, party)
        assert answer["did"] == party.did
        attribute = answer["attribute"]
        assert attribute["issuerType"] == kind
        assert attribute["tao"] == accreditor.did
        assert attribute["rootTao"] == root.did
        assert attribute["body"] == body
        assert attribute["hash"] == __import__("hashlib").sha256(body.encode()).hexdigest()
        assert attribute["taoAttributeId"] == (accreditor.attribute_id[2:])
    issuers = kit.http.get(f"{TIR}/issuers").json()
    assert {i["did"] for i in issuers["items"]} == {root.did, tao.did, ti.did} and issuers["total"] == 3
    issuer = kit.http.get(f"{TIR}/issuers/{ti.did}").json()
    assert issuer == {"did": ti.did, "attributes": f"http://ebsi.test{TIR}/issuers/{ti.did}/attributes",
                      "hasAttributes": True}
    deprecated = kit.http.get(f"{TIR}/issuers/{ti.did}", params={"version": "deprecated"}).json()
    assert [a["issuerType"] for a in deprecated["attributes"]] == ["TI"]
    listed = kit.http.get(f"{TIR}/issuers/{ti.did}/attributes").json()
    assert listed["items"] == [{"id": ti.attribute_id[2:],
                                "href": f"http://ebsi.test{TIR}/issuers/{ti.did}/attributes/{ti.attribute_id[2:]}"}]


def test_a_ti_cannot_accredit(kit):
    _, _, ti = kit.trust_chain()
    other = kit.registered()
    with pytest.raises(EbsiWriteError) as refused:
        kit.set_metadata(ti.client, other, TI, ti)
    assert refused.value.status == 400
    assert refused.value.problem["error"] == "TrustedIssuersRegistry__NotAccreditor"
    assert ti.did in refused.value.problem["detail"]
    assert kit.http.get(f"{TIR}/issuers/{other.did}").status_code == 404


def test_only_the_admin_places_a_root_tao(kit):
    party = kit.registered()
    with pytest.raises(EbsiWriteError) as refused:
        kit.set_metadata(party.client, party, ROOT_TAO, None)
    assert refused.value.problem["error"] == "TrustedIssuersRegistry__NotAdmin"


def test_an_accreditor_must_control_the_tao_did_it_names(kit):
    root, tao, _ = kit.trust_chain()
    stranger, victim = kit.registered(), kit.registered()
    with pytest.raises(EbsiWriteError) as refused:
        kit.set_metadata(stranger.client, victim, TI, tao)  # names the TAO, but does not control its DID
    assert refused.value.problem["error"] == "TrustedIssuersRegistry__NotAllowed"


def test_a_revoked_tao_accredits_nobody_and_its_history_is_kept(kit):
    root, tao, ti = kit.trust_chain()
    kit.set_metadata(root.client, tao, REVOKED, root, aid=tao.attribute_id)
    assert _attribute(kit, tao)["attribute"]["issuerType"] == "Revoked"
    newcomer = kit.registered()
    with pytest.raises(EbsiWriteError) as refused:
        kit.set_metadata(tao.client, newcomer, TI, tao)
    assert refused.value.problem["error"] == "TrustedIssuersRegistry__NotAccreditor"
    with pytest.raises(EbsiWriteError) as refused:
        kit.set_data(tao.client, tao, tao.attribute_id, b"new body")
    assert refused.value.problem["error"] == "TrustedIssuersRegistry__AttributeRevoked"
    revisions = kit.http.get(f"{TIR}/issuers/{tao.did}/attributes/{tao.attribute_id[2:]}/revisions").json()
    assert [r["issuerType"] for r in revisions["items"]] == ["TAO", "TAO", "Revoked"]
    assert [r["body"] for r in revisions["items"]] == [None, "tao accreditation", "tao accreditation"]
    times = [r["blockNumber"] for r in revisions["items"]]
    assert times == sorted(times) and len(set(times)) == 3
    # The TI it accredited stays in the registry as it was: judging the chain is the verifier's job.
    assert _attribute(kit, ti)["attribute"]["issuerType"] == "TI"


def test_the_ti_itself_cannot_revoke_or_rewrite_its_accreditation(kit):
    _, _, ti = kit.trust_chain()
    with pytest.raises(EbsiWriteError) as refused:
        kit.set_metadata(ti.client, ti, REVOKED, None, aid=ti.attribute_id)
    assert refused.value.problem["error"] == "TrustedIssuersRegistry__NotAllowed"
    with pytest.raises(EbsiWriteError) as refused:  # re-placing it as a TAO needs its accreditor's consent
        kit.set_metadata(ti.client, ti, TAO, ti, aid=ti.attribute_id)
    assert refused.value.problem["error"] == "TrustedIssuersRegistry__NotAccreditor"


def test_unknown_issuer_and_attribute_are_404_problems(kit):
    _, _, ti = kit.trust_chain()
    assert kit.http.get(f"{TIR}/issuers/did:ebsi:znobody0000").status_code == 404
    missing = kit.http.get(f"{TIR}/issuers/{ti.did}/attributes/{'ab' * 32}")
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    assert kit.http.get(f"{TIR}/issuers/{ti.did}/attributes/not-hex").status_code == 400
    assert kit.http.get(f"{TIR}/issuers/not-a-did").status_code == 400


def test_data_needs_metadata_first(kit):
    party = kit.registered()
    with pytest.raises(EbsiWriteError) as refused:
        kit.set_data(party.client, party, attribute_id("x"), b"body")
    assert refused.value.problem["error"] == "TrustedIssuersRegistry__UnknownAttribute"


def test_issuer_proxies(kit):
    _, _, ti = kit.trust_chain()
    proxy = {"prefix": "https://registrar.university.example/status", "headers": {}, "testSuffix": "/1"}
    ti.client.transact("trusted-issuers-registry", "addIssuerProxy", {"did": ti.did, "proxyData": json.dumps(proxy)})
    listed = kit.http.get(f"{TIR}/issuers/{ti.did}/proxies").json()
    assert listed["total"] == 1
    proxy_id = listed["items"][0]["proxyId"]
    assert kit.http.get(f"{TIR}/issuers/{ti.did}/proxies/{proxy_id}").json() == proxy
    stranger = kit.registered()
    with pytest.raises(EbsiWriteError) as refused:
        stranger.client.transact("trusted-issuers-registry", "removeIssuerProxy", {"did": ti.did, "proxyId": proxy_id})
    assert refused.value.problem["error"] == "TrustedIssuersRegistry__NotAllowed"
    ti.client.transact("trusted-issuers-registry", "removeIssuerProxy", {"did": ti.did, "proxyId": proxy_id})
    assert kit.http.get(f"{TIR}/issuers/{ti.did}/proxies/{proxy_id}").status_code == 404
