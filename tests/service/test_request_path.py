"""The VC-API request path: strict RFC 8259 bodies (no 500 on NaN, Infinity or unpaired surrogates), exact big
integers, and the split that judges a credential on the event loop only when its evidence is cached."""

from __future__ import annotations

import json
import warnings

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

import verifier.service.api as api
from tests.service.timeless import timeless
from verifier.service import jsontext
from verifier.service.app import create_app
from verifier.service.settings import VerifierSettings

JSON = {"content-type": "application/json"}


@pytest.fixture
def client(embedded):
    _, batch = embedded
    with TestClient(create_app(VerifierSettings(), verifier=batch.verifier()), raise_server_exceptions=False) as c:
        yield c


@pytest.mark.parametrize("path", ["/credentials/verify", "/presentations/verify"])
@pytest.mark.parametrize("value, words", [
    (b"NaN", "expected value"),
    (b"-Infinity", "invalid number"),
    (b'"\\ud800"', "hex escape"),  # an unpaired surrogate: jiter says "unexpected end of hex escape"
])
def test_a_body_that_is_not_rfc8259_json_is_a_400_not_a_500(client, path, value, words):
    key = b"verifiableCredential" if path.startswith("/credentials") else b"verifiablePresentation"
    body = b'{"' + key + b'": {"id": ' + value + b', "issuer": {"id": "did:key:z", "name": ' + value + b"}}}"
    r = client.post(path, content=body, headers=JSON)
    assert r.status_code == 400, r.text
    problem = r.json()
    assert problem["title"] == "Malformed JSON" and words in problem["detail"].lower()


def test_an_overflowing_number_in_a_name_is_no_500(client):
    body = b'{"verifiableCredential": {"issuer": {"id": "did:key:z6Mk", "name": 1e400}}}'
    r = client.post("/credentials/verify", content=body, headers=JSON)
    assert r.status_code == 200 and r.json()["report"]["issuer"]["name"] is None


@pytest.mark.parametrize("form", ["/verify", "/verify.csv"])
def test_an_unpaired_surrogate_on_the_page_is_a_failed_row_not_a_500(client, form):
    r = client.post(form, data={"credential": '{"id": "\\ud800", "issuer": "did:key:z"}'})
    assert r.status_code == 200, r.text[:300]
    assert "not valid JSON" in r.text


def test_big_integers_stay_exact():
    assert jsontext.loads(b'{"n": 1180591620717411303424}') == {"n": 2**70}
    assert jsontext.JsonBody({"n": 2**70}).body == b'{"n":1180591620717411303424}'  # beyond orjson: json writes it


def test_a_decode_error_names_its_character():
    with pytest.raises(json.JSONDecodeError) as info:
        jsontext.loads('{"a": 1,\n "b": nope}')
    assert info.value.msg == "expected ident"
    assert (info.value.lineno, info.value.pos) == (2, '{"a": 1,\n "b": nope}'.index("nope") + 1)  # at the "o"


class Counting:
    """Counts the hops to the threadpool of the API module."""

    def __init__(self, monkeypatch):
        self.calls: list[str] = []
        real = api.run_in_threadpool

        async def counted(fn, *args, **kwargs):
            self.calls.append(getattr(fn, "__name__", repr(fn)))
            return await real(fn, *args, **kwargs)

        monkeypatch.setattr(api, "run_in_threadpool", counted)


def test_only_io_goes_to_a_thread(embedded, monkeypatch):
    """The first credential of a batch needs a ledger read (a thread); the next ones have their evidence cached and
    are judged on the event loop; a body over inline_max_bytes goes to a thread whole."""
    _, batch = embedded
    hops = Counting(monkeypatch)
    verifier = batch.verifier()  # fresh caches
    with TestClient(create_app(VerifierSettings(), verifier=verifier)) as c:
        bodies = [c.post("/credentials/verify", json={"verifiableCredential": batch.credential(i)}).json()
                  for i in range(3)]
    assert all(b["verified"] for b in bodies)
    assert hops.calls == ["gather"]
    with TestClient(create_app(VerifierSettings(inline_max_bytes=0), verifier=verifier)) as c:
        assert c.post("/credentials/verify", json={"verifiableCredential": batch.credential(3)}).json()["verified"]
    assert hops.calls == ["gather", "verify"]


def test_the_loop_and_the_thread_give_the_same_report(embedded):
    _, batch = embedded
    answers = []
    for limit in (64 * 1024, 0):
        with TestClient(create_app(VerifierSettings(inline_max_bytes=limit), verifier=batch.verifier())) as c:
            body = c.post("/credentials/verify", json={"verifiableCredential": batch.credential(5)}).json()
        answers.append(timeless(body))
    assert answers[0] == answers[1]


def test_local_only_gathering_needs_every_piece_cached(embedded):
    _, batch = embedded
    verifier = batch.verifier()
    parsed = verifier.parse(batch.credential(0))
    assert verifier.gather(parsed, local_only=True) is None  # the anchor is not read yet
    full = verifier.gather(parsed)
    assert verifier.gather(parsed, local_only=True) == full
