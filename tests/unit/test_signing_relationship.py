"""A signature counts only from a key the issuer lists as an assertionMethod. A key of the key history (one the issuer
dates as retired or revoked) is the one exception, judged by its dates; a `retired`/`revoked` member without a date
must not open that door (a key listed only for authentication would otherwise sign credentials as the issuer)."""

from __future__ import annotations

import copy

import pytest

from verifier.report import Status


def _without_assertion(document: dict, vm_id: str, **members) -> dict:
    doc = copy.deepcopy(document)
    doc["assertionMethod"] = [m for m in doc.get("assertionMethod", []) if m not in (vm_id, "#" + vm_id.split("#")[1])]
    doc["authentication"] = [vm_id]
    for vm in doc["verificationMethod"]:
        if vm["id"] == vm_id:
            vm.update(members)
    return doc


@pytest.mark.parametrize("members", [{}, {"retired": None}, {"revoked": None}, {"retired": ""}],
                         ids=["plain", "retired-null", "revoked-null", "retired-empty"])
def test_a_key_listed_only_for_authentication_does_not_sign_as_the_issuer(embedded, members):
    _, batch = embedded
    credential = batch.credential(0)
    vm_id = credential["proof"][0]["verificationMethod"]
    verifier = batch.verifier(did_document=_without_assertion(batch.did_document, vm_id, **members))
    check = verifier.verify(credential).check("signature")
    assert check.status is Status.FAIL, check.reason
    assert "not an assertionMethod" in check.reason


def test_a_dated_key_of_the_history_is_judged_by_its_dates_instead(embedded):
    _, batch = embedded
    credential = batch.credential(0)
    vm_id = credential["proof"][0]["verificationMethod"]
    verifier = batch.verifier(did_document=_without_assertion(batch.did_document, vm_id,
                                                              retired="2999-01-01T00:00:00Z"))
    check = verifier.verify(credential).check("signature")
    assert "not an assertionMethod" not in check.reason, check.reason
