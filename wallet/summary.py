"""What the learner sees of each credential, and how credentials stack toward larger qualifications.

Facts are read from the credential (Open Badges 3.0 with the project's EU extension, docs/eu-elements.md): title,
awarding body, issue date, ECTS (``credentialSubject.creditsEarned``, else ``achievement.creditPoint.point``, else
``achievement.creditsAvailable``), EQF level (the ``ext:EQFLevel`` alignment) and the stackability options
(``achievement.isPartOf``: the qualifications the achievement counts toward, ``isPartialQualification``).

Stacking sums ECTS per target qualification (the ``isPartOf`` id) over the credentials that did not fail
verification; one achievement held twice counts once (ECTS are earned once per achievement). What a programme
finally recognises is its own decision: the sum is what the credentials claim, and the page says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from wallet.store import Entry


def _list(value: Any) -> list:
    return value if isinstance(value, list) else [value] if value is not None else []


def text_of(value: Any, language: str = "en", limit: int = 300) -> str | None:
    """A plain string, or a language map's text in ``language`` (else ``en``, else its first entry); whitespace
    folded, cut at ``limit``."""
    if isinstance(value, dict):
        value = value.get(language) or value.get("en") or next(iter(value.values()), None) if value else None
    if not isinstance(value, str) or not value.strip():
        return None
    value = " ".join(value.split())
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if number >= 0 and number == number and number != float("inf") else None


def _day(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).date().isoformat()
    except ValueError:
        return None


@dataclass(frozen=True)
class Target:
    """A larger qualification an achievement counts toward (OB 3.0 ``isPartOf``)."""

    id: str
    title: str


@dataclass(frozen=True)
class Summary:
    entry_id: str
    credential_id: str | None
    title: str
    issuer_name: str
    issuer_id: str
    achievement_id: str | None
    learner_name: str | None
    subject_id: str | None
    issued: str | None  # YYYY-MM-DD
    expires: str | None  # YYYY-MM-DD
    ects: float | None
    eqf_level: str | None
    grade: str | None
    targets: tuple[Target, ...]
    partial_qualification: bool | None
    verdict: str | None
    checked_at: str | None
    outcomes: tuple[str, ...] = ()
    share_url: str | None = None

    @property
    def ects_text(self) -> str:
        return "" if self.ects is None else f"{self.ects:g}"


def summarize(entry: Entry, language: str = "en") -> Summary:
    cred = entry.credential
    subject = (_list(cred.get("credentialSubject")) or [{}])[0]
    subject = subject if isinstance(subject, dict) else {}
    achievement = subject.get("achievement") if isinstance(subject.get("achievement"), dict) else {}
    lang = language or (achievement.get("inLanguage") if isinstance(achievement.get("inLanguage"), str) else "en")
    issuer = cred.get("issuer")
    issuer = issuer if isinstance(issuer, dict) else {"id": issuer}
    name = None
    for ident in _list(subject.get("identifier")):
        if isinstance(ident, dict) and ident.get("identityType") == "name" and ident.get("hashed") is False:
            name = text_of(ident.get("identityHash"), lang, 200)
    eqf = None
    for align in _list(achievement.get("alignment")):
        if isinstance(align, dict) and align.get("targetType") == "ext:EQFLevel":
            eqf = text_of(align.get("targetCode"), lang, 10)
    credit_point = achievement.get("creditPoint") if isinstance(achievement.get("creditPoint"), dict) else {}
    ects = _number(subject.get("creditsEarned"))
    ects = ects if ects is not None else _number(credit_point.get("point"))
    ects = ects if ects is not None else _number(achievement.get("creditsAvailable"))
    targets = tuple(Target(p["id"], text_of(p.get("title") or p.get("name"), lang) or p["id"])
                    for p in _list(achievement.get("isPartOf")) if isinstance(p, dict) and isinstance(p.get("id"), str))
    grade = next((text_of(r.get("value"), lang, 64) for r in _list(subject.get("result"))
                  if isinstance(r, dict) and text_of(r.get("value"), lang, 64)), None)
    partial = achievement.get("isPartialQualification")
    outcomes = tuple(t for o in _list(achievement.get("learningOutcome"))
                     if isinstance(o, dict) and (t := text_of(o.get("title"), lang)))
    return Summary(
        entry_id=entry.id, credential_id=entry.credential_id,
        title=(text_of(achievement.get("title"), lang) or text_of(achievement.get("name"), lang)
               or text_of(cred.get("name"), lang) or "(untitled achievement)"),
        issuer_name=text_of(issuer.get("name"), lang) or text_of(issuer.get("id"), lang) or "(unknown issuer)",
        issuer_id=text_of(issuer.get("id"), lang) or "(unknown)",
        achievement_id=achievement.get("id") if isinstance(achievement.get("id"), str) else None,
        learner_name=name or text_of(subject.get("name"), lang, 200),
        subject_id=subject.get("id") if isinstance(subject.get("id"), str) else None,
        issued=_day(cred.get("validFrom") or cred.get("issuanceDate")), expires=_day(cred.get("validUntil")),
        ects=ects, eqf_level=eqf, grade=grade, targets=targets,
        partial_qualification=partial if isinstance(partial, bool) else None,
        verdict=entry.verdict, checked_at=entry.report.get("verified_at") if entry.report else None,
        outcomes=outcomes, share_url=entry.share_url,
    )


@dataclass
class Stack:
    """ECTS gathered toward one target qualification."""

    target: Target
    credits: float = 0.0
    counted: list[Summary] = field(default_factory=list)
    not_counted: list[tuple[Summary, str]] = field(default_factory=list)  # (credential, why it does not count)


def stacks(summaries: list[Summary]) -> list[Stack]:
    """One stack per target, in order of first appearance; ECTS summed over credentials that did not fail."""
    out: dict[str, Stack] = {}
    seen: dict[str, set[str]] = {}
    for s in summaries:
        for target in s.targets:
            stack = out.setdefault(target.id, Stack(target))
            if s.verdict == "failed":
                stack.not_counted.append((s, "failed verification"))
            elif s.verdict is None:
                stack.not_counted.append((s, "not verified yet"))
            elif s.ects is None:
                stack.not_counted.append((s, "states no ECTS"))
            elif s.achievement_id is not None and s.achievement_id in seen.setdefault(target.id, set()):
                stack.not_counted.append((s, "same achievement already counted"))
            else:
                if s.achievement_id is not None:
                    seen[target.id].add(s.achievement_id)
                stack.credits += s.ects
                stack.counted.append(s)
    return list(out.values())


__all__ = ["Stack", "Summary", "Target", "stacks", "summarize", "text_of"]
