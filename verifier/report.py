"""Check results, the verdict, and the report that the CLI, the API and the page all render.

A check is pass / fail / skipped / indeterminate. The verdict is derived, never stored:
any fail → failed; else any indeterminate or skipped → partially verified; else verified (DESIGN.md, "Verification").
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any


class Status(str, enum.Enum):
    PASS = "pass"
    FAIL = "fail"
    SKIPPED = "skipped"
    INDETERMINATE = "indeterminate"


class Verdict(str, enum.Enum):
    VERIFIED = "verified"
    PARTIALLY_VERIFIED = "partially_verified"
    FAILED = "failed"


@dataclass(frozen=True)
class CheckResult:
    id: str
    title: str
    status: Status
    reason: str
    # False for a check the verifier was not asked to make (issuer trust with no trusted roots configured): it is
    # shown, grey, with its reason, but does not turn "verified" into "partially verified".
    counts: bool = True

    def to_json(self) -> dict[str, str]:
        return {"id": self.id, "title": self.title, "status": self.status.value, "reason": self.reason}


def verdict_of(checks: list[CheckResult] | tuple[CheckResult, ...]) -> Verdict:
    if not checks:
        # An empty report proves nothing; refuse to call it verified (sigstore refuses an empty AllOf policy).
        raise ValueError("a verdict needs at least one check")
    statuses = {c.status for c in checks if c.counts}
    if Status.FAIL in statuses:
        return Verdict.FAILED
    if statuses & {Status.INDETERMINATE, Status.SKIPPED}:
        return Verdict.PARTIALLY_VERIFIED
    return Verdict.VERIFIED


@dataclass(frozen=True)
class Report:
    source: str  # where the credential came from (a file name, a URL, "request body")
    credential_id: str | None
    checks: tuple[CheckResult, ...]
    verified_at: str  # the one reference time of this verification (ISO 8601, UTC)
    issuer: dict[str, Any] = field(default_factory=dict)
    anchor: dict[str, Any] = field(default_factory=dict)
    # The EU elements in readable form, made only when read (a bulk run that needs verdicts only skips it).
    summarize: Callable[[], list[tuple[str, str]]] | None = field(default=None, repr=False, compare=False)
    # The recognition scorecard (verifier.recognition), made from this report when first read.
    recognize: Callable[["Report"], Any] | None = field(default=None, repr=False, compare=False)

    @cached_property
    def eu_elements(self) -> tuple[tuple[str, str], ...]:
        return tuple(self.summarize()) if self.summarize else ()

    @cached_property
    def recognition(self) -> Any:
        """The recognition scorecard (a ``verifier.recognition.Scorecard``), or None for input that is no credential."""
        return self.recognize(self) if self.recognize else None

    @property
    def verdict(self) -> Verdict:
        return verdict_of(self.checks)

    def check(self, check_id: str) -> CheckResult:
        for c in self.checks:
            if c.id == check_id:
                return c
        raise KeyError(check_id)

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "credential_id": self.credential_id,
            "verdict": self.verdict.value,
            "verified_at": self.verified_at,
            "checks": [c.to_json() for c in self.checks],
            "issuer": self.issuer,
            "anchor": self.anchor,
            "eu_elements": [{"element": k, "value": v} for k, v in self.eu_elements],
            "recognition": self.recognition.to_json() if self.recognition is not None else None,
        }
