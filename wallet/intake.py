"""Verify on the way in, keep the report with the credential (shared by the CLI and the wallet's page).

Input that is not a credential at all (the format check fails before anything else could be judged) is refused,
not kept; a credential that fails a later check is kept with its failed report, so the learner can see why and ask
the issuer.
"""

from __future__ import annotations

from typing import Any

from verifier.report import Report, Status
from wallet.errors import ClaimError
from wallet.store import Entry, Wallet
from wallet.verifying import WalletVerifier


def keep_credential(wallet: Wallet, wv: WalletVerifier, credential: dict[str, Any], *, source: dict[str, Any],
                    replace: bool) -> tuple[Entry, Report]:
    where = source.get("url") or source.get("name") or "input"
    report, evidence = wv.verify(credential, source=str(where))
    if report.credential_id is None and report.checks[0].status is Status.FAIL:
        raise ClaimError(f"{where}: not a credential: {report.checks[0].reason}")
    entry = wallet.add(credential, source=source, report=report.to_json(), evidence=evidence, replace=replace)
    return entry, report


def reverify(wallet: Wallet, wv: WalletVerifier, entry: Entry) -> Report:
    """Verify a kept credential again; the new report (and the DID document it used, if any) replaces the old."""
    report, evidence = wv.verify(entry.credential, source=entry.share_url or entry.source.get("name") or entry.id)
    kept = {**entry.evidence, **evidence}
    wallet.save(Entry(entry.id, entry.credential, entry.added, entry.source, report.to_json(), kept))
    return report


__all__ = ["keep_credential", "reverify"]
