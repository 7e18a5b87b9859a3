"""The wallet's page through TestClient: locked until the passphrase, forms bound to the session, loopback only."""

from __future__ import annotations

import json
import re
import warnings

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from tests.wallet.kit import PASSPHRASE, holder_batch, new_wallet
from wallet.service.app import WalletSettings, create_app

BASE = "http://127.0.0.1"


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("page")
    wallet = new_wallet(tmp / "w")
    _chain, batch = holder_batch(tmp / "out", wallet)
    (tmp / "did.json").write_text(json.dumps(batch.did_document))
    wallet.update_settings(did_documents=[str(tmp / "did.json")], did_web_fetch=False,
                           verifier_url="https://verify.example")
    app = create_app(WalletSettings(dir=tmp / "w"))
    with TestClient(app, base_url=BASE) as client:
        yield client, wallet, batch


def _unlock(client, passphrase=PASSPHRASE):
    form = client.get("/")
    return client.post("/unlock", data={"csrf": _csrf(form.text), "passphrase": passphrase}, follow_redirects=False)


def test_locked_until_the_passphrase_and_the_unlock_form_is_bound_to_its_cookie(page):
    client, wallet, _batch = page
    locked = client.get("/")
    assert locked.status_code == 200 and "Unlock your wallet" in locked.text and wallet.holder_did not in locked.text
    assert locked.headers["content-security-policy"].startswith("default-src 'none'")
    wrong = _unlock(client, "not the passphrase")
    assert wrong.status_code == 403 and "wrong passphrase" in wrong.text
    forged = client.post("/unlock", data={"csrf": "guessed", "passphrase": PASSPHRASE})
    assert forged.status_code == 403 and "token is missing or stale" in forged.text
    other_site = client.post("/unlock", data={"csrf": "x", "passphrase": PASSPHRASE},
                             headers={"Origin": "https://evil.example"})
    assert other_site.status_code == 403
    rebound = client.get("/", headers={"Host": "evil.example"})
    assert rebound.status_code == 421
    assert client.get("/credentials/000000000000/qr.svg").status_code == 401
    done = _unlock(client)
    assert done.status_code == 303
    assert wallet.holder_did in client.get("/").text


def test_claim_a_file_see_it_listed_with_ects_and_share_it(page):
    client, wallet, batch = page
    if wallet.holder_did not in client.get("/").text:
        _unlock(client)
    home = client.get("/")
    upload = client.post("/claim", data={"csrf": _csrf(home.text)},
                         files={"file": ("c0.json", json.dumps(batch.credential(0)), "application/json")},
                         follow_redirects=False)
    assert upload.status_code == 303, upload.text
    detail = client.get(upload.headers["location"])
    assert "Applied Data Protection Engineering" in detail.text and "Signature by the issuer" in detail.text
    assert "imported from a file and has no public link" in detail.text
    assert "Sign a presentation" in detail.text  # issued to this wallet's holder
    listing = client.get("/").text
    assert "Toward larger qualifications" in listing and "5 ECTS" in listing
    stale = client.post("/claim", data={"csrf": "stale"}, files={"file": ("c.json", "{}", "application/json")})
    assert stale.status_code == 403
    entry = wallet.get(batch.credential(0)["id"])
    vp = client.post(f"/credentials/{entry.id}/present", data={"csrf": _csrf(detail.text), "challenge": "n-1",
                                                                "domain": "jobs.example"})
    assert vp.status_code == 200 and json.loads(vp.text)["proof"]["challenge"] == "n-1"
    # Claimed from a link: the share section offers the verification link, its QR code, the PDF and LinkedIn.
    wallet.add(entry.credential, source={"kind": "link", "url": "https://issuer.example/share/AbCdEfGhIjKlMnOpQr"},
               report=entry.report, replace=True)
    shared = client.get(f"/credentials/{entry.id}").text
    assert "https://verify.example/verify/link?url=https%3A%2F%2Fissuer.example%2Fshare%2FAbCdEfGhIjKlMnOpQr" in shared
    assert "linkedin.com/profile/add?startTask=CERTIFICATION_NAME" in shared
    assert client.get(f"/credentials/{entry.id}/qr.svg").headers["content-type"] == "image/svg+xml"
    assert client.get(f"/credentials/{entry.id}/certificate.pdf").content.startswith(b"%PDF-")
    lock = client.post("/lock", data={"csrf": _csrf(shared)}, follow_redirects=False)
    assert lock.status_code == 303 and "Unlock your wallet" in client.get("/").text
