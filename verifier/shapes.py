"""The fast path of canonicalization: one JSON-LD expansion per document *shape* (DESIGN.md, issue #2 "Speed").

``Canonicalizer`` gives exactly what ``verifier.canonical.canonicalize`` gives (property tests compare them on every
kind of output, errors included), but expands each shape once and fills the strings of later documents into the
recorded RDF template; ``verifier.rdfc.LayoutPlan`` then canonicalizes the template's blank-node layout. Anything the
template cannot stand for (a relative or compact IRI, a term, a value that lands inside a larger string) goes to the
full algorithm.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from verifier.canonical import to_quads
from verifier.documentloader import DEFAULT_LOADER, DocumentLoader
from verifier.errors import InvalidInputError
from verifier.rdfc import DEFAULT_MAX_WORK, LayoutPlan, Quad, canonicalize_quads, escape_literal
from verifier.rdfc import _dedupe as _dedupe_quads
from verifier.rdfc import _State as _RdfcState


_SLOT_PREFIX = f"urn:x-anchorcred-slot:{secrets.token_hex(8)}:"
_SLOT_TERM = re.compile(
    r'^(?:<' + re.escape(_SLOT_PREFIX) + r'(\d+)>|"' + re.escape(_SLOT_PREFIX) + r'(\d+)"((?:@|\^\^<).*)?)$'
)
# An absolute IRI that expands to itself and needs no escaping in N-Quads (JSON-LD 1.1 API §IRI Expansion).
_PLAIN_ABSOLUTE_IRI = re.compile(r'^([A-Za-z][A-Za-z0-9+.\-]*):[^\s<>"{}|\\^`\x00-\x20\x7f]*$')
# Keys whose string values stay in the shape key: they decide structure, not content.
_STRUCTURAL_KEYS = frozenset({"type", "@type", "@language", "@direction", "@index"})


@dataclass(frozen=True)
class _Template:
    fixed: tuple[Quad, ...]  # quads with no slot
    # Quads with a slot only in object position (after ``fixed``), then the others (after ``object_slot``); a term
    # is a fixed N-Quads string, or an int: the index of the slot whose rendered value goes there.
    object_slot: tuple[tuple[str, str, int, str], ...]
    subject_slot: tuple[tuple[int, str, str, str], ...]
    subject_object_slots: tuple[tuple[int, str, int, str], ...]
    quads: tuple[tuple[str | int, str | int, str | int, str | int], ...]
    # Hash First Degree Quads of blank nodes that occur only in fixed quads: the same for every document.
    first_degree: dict[str, str]
    literal_suffix: tuple[str | None, ...]  # per slot: None = IRI term; else the literal's suffix ("", "@en", "^^<dt>")
    terms: frozenset[str]  # every term any context in play defines: an IRI value must be none of them
    plan: LayoutPlan  # where the blank nodes sit in an instantiated document (fixed quads first, then ``quads``)
    rendered: list[tuple[str, str] | None]  # per slot, the last value and its N-Quads term (see _instantiate)


_NOT_TEMPLATABLE = object()


@dataclass(frozen=True)
class Shaped:
    """A document with its shape key and substitutable strings, computed once (``Canonicalizer.shape``)."""

    doc: dict[str, Any]
    key: tuple[str, ...]
    values: tuple[str, ...]


def _shape(doc: Any, structural_keys: frozenset[str] = _STRUCTURAL_KEYS) -> tuple[tuple[str, ...], list[str]]:
    """(shape key, substitutable strings in walk order).

    The key is a tuple of tokens, each tagged by its first character ("{" "}" "[" "]" "k"ey "="kept string
    "?"substituted string "#"other leaf by repr, "@"context JSON), so no two different shapes share a key.
    """
    values: list[str] = []
    tokens: list[str] = []
    add = tokens.append
    keep = values.append
    # type() identity instead of isinstance: this walk runs twice per credential, 10,000 times a batch; JSON from
    # json.loads has exactly these types, and subclasses (e.g. a str subclass) take the generic branch below.
    str_, dict_, list_ = str, dict, list

    def walk(value: Any, structural: bool) -> None:
        kind = type(value)
        if kind is str_:
            if structural:
                add("=" + value)
            else:
                keep(value)
                add("?")
        elif kind is dict_:
            add("{")
            for key, item in value.items():
                add("k" + key)
                if key == "@context":
                    if type(item) is list_ and all(type(c) is str_ for c in item):
                        add("@L" + "\x00".join(item))  # the usual list of context URLs, cheaper than JSON
                    else:
                        add("@J" + json.dumps(item, sort_keys=True))
                elif type(item) is str_ and not structural and key not in structural_keys:
                    keep(item)  # the common leaf, inlined
                    add("?")
                else:
                    walk(item, structural or key in structural_keys)
            add("}")
        elif kind is list_:
            add("[")
            for item in value:
                walk(item, structural)
            add("]")
        elif isinstance(value, str):
            walk(str(value), structural)
        elif isinstance(value, dict):
            walk(dict(value), structural)
        elif isinstance(value, list):
            walk(list(value), structural)
        else:
            add("#" + repr(value))

    walk(doc, False)
    return tuple(tokens), values


def _substitute(
    value: Any, slots: Iterator[str], structural_keys: frozenset[str] = _STRUCTURAL_KEYS, structural: bool = False
) -> Any:
    """Replace substitutable strings (same walk as ``_shape``) by the next values from ``slots``."""
    if isinstance(value, str):
        return value if structural else next(slots)
    if isinstance(value, list):
        return [_substitute(item, slots, structural_keys, structural) for item in value]
    if isinstance(value, dict):
        return {
            key: item if key == "@context"
            else _substitute(item, slots, structural_keys, structural or key in structural_keys)
            for key, item in value.items()
        }
    return value


class Canonicalizer:
    """Canonical N-Quads equal to ``canonicalize`` but one JSON-LD expansion per document *shape*.

    Shape = the JSON with every substitutable string leaf replaced by a marker (keys, list lengths, numbers,
    booleans, nulls, ``@context`` and strings under type/@type/@language/@direction/@index stay in the key). For a
    new shape each substitutable string becomes a unique sentinel IRI, the full algorithm runs once, and we record
    where each sentinel lands. The shape is templatable only if every sentinel lands only as whole terms of one
    kind (an IRI ``<sentinel>`` or a literal ``"sentinel"`` with its datatype/language), at least once. A later
    document of that shape gets its strings put into the recorded quads, N-Quads-escaped; in IRI positions only
    if the string is a plain absolute IRI that is no term or prefix of any context in play, else the document
    takes the full algorithm. Then RDFC-1.0 as usual.
    """

    def __init__(self, *, loader: DocumentLoader | None = None, maxsize: int = 256):
        self.loader = loader or DEFAULT_LOADER
        self.maxsize = maxsize
        self._templates: OrderedDict[tuple[str, ...], Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.full_runs = 0
        self.fallbacks = 0
        self._shipped_terms: frozenset[str] | None = None
        # Values of "@type": "@vocab" terms (e.g. proofPurpose: "assertionMethod") are usually terms themselves,
        # which the IRI check would send to the full algorithm every time: keep them in the shape key instead.
        vocab_terms: set[str] = set()
        for url in self.loader.known:
            _collect_vocab_typed_terms(self.loader.document(url).get("@context"), vocab_terms)
        self._structural_keys = _STRUCTURAL_KEYS | frozenset(vocab_terms)

    def counters(self) -> dict[str, int]:
        return {"hits": self.hits, "full_runs": self.full_runs, "fallbacks": self.fallbacks}

    def canonicalize(self, doc: dict[str, Any]) -> str:
        """Canonical N-Quads of ``doc``, equal to ``verifier.canonical.canonicalize(doc)``."""
        quads, template, rendered = self._quads(doc)
        return self._finish(quads, template, rendered)

    @staticmethod
    def _finish(quads: list[Quad], template: _Template | None, rendered: list[str]) -> str:
        if template is None:
            return canonicalize_quads(quads)
        fast = template.plan.canonicalize(quads, rendered)
        if fast is not None:
            return fast
        # Blank nodes whose quads are all fixed have the same first-degree hash in every document (RDFC-1.0 §4.6).
        return canonicalize_quads(quads, first_degree_hints=template.first_degree)

    def _quads(self, doc: dict[str, Any]) -> tuple[list[Quad], _Template | None, list[str]]:
        if not isinstance(doc, dict):
            return to_quads(doc, loader=self.loader), None, []
        return self._quads_of(self.shape(doc))

    # ── shapes that compose: a document, then the same document with one more top-level member ──────────────
    def shape(self, doc: dict[str, Any]) -> Shaped:
        """The shape key and substitutable strings of ``doc`` (a JSON object), for ``canonicalize_shaped``."""
        if not isinstance(doc, dict):
            raise ValueError(f"shape() takes a JSON object, got {type(doc).__name__}")
        key, values = _shape(doc, self._structural_keys)
        return Shaped(doc, key, tuple(values))

    def extend(self, shaped: Shaped, key: str, value: Any) -> Shaped:
        """The shape of ``{**shaped.doc, key: value}`` without walking the document again.

        A new top-level member goes last in a JSON object, so its tokens go just before the closing brace and its
        strings after the document's: the same key and values ``shape`` gives for the merged document.
        """
        if key in shaped.doc:
            return self.shape({**shaped.doc, key: value})
        tokens, values = _shape({key: value}, self._structural_keys)
        return Shaped({**shaped.doc, key: value}, shaped.key[:-1] + tokens[1:], shaped.values + tuple(values))

    def canonicalize_shaped(self, shaped: Shaped) -> str:
        quads, template, rendered = self._quads_of(shaped)
        return self._finish(quads, template, rendered)

    def _quads_of(self, shaped: Shaped) -> tuple[list[Quad], _Template | None, list[str]]:
        """(quads, the template they came from or None, the slots' rendered N-Quads terms)."""
        doc, key, values = shaped.doc, shaped.key, list(shaped.values)
        with self._lock:  # one Canonicalizer may serve several threads (a verifier service)
            template = self._templates.get(key)
            if template is not None:
                self._templates.move_to_end(key)
        if template is None:
            template = self._learn(doc, len(values))  # slow, so outside the lock; two threads may both learn
            with self._lock:
                self._templates[key] = template
                if len(self._templates) > self.maxsize:
                    self._templates.popitem(last=False)
        if template is _NOT_TEMPLATABLE:
            self.full_runs += 1
            return to_quads(doc, loader=self.loader), None, values
        made = self._instantiate(template, values)
        if made is None:
            self.fallbacks += 1
            return to_quads(doc, loader=self.loader), None, values
        self.hits += 1
        return made[0], template, made[1]

    def _learn(self, doc: dict[str, Any], n_slots: int) -> Any:
        sentinels = iter(_SLOT_PREFIX + str(i) for i in range(n_slots))
        probe = _substitute(doc, sentinels, self._structural_keys)
        try:
            quads = to_quads(probe, loader=self.loader)
        except InvalidInputError:
            return _NOT_TEMPLATABLE  # the shape itself is invalid: every document gets the full run and its error
        suffixes: dict[int, str | None] = {}
        spec: list[tuple[str | int, ...]] = []
        fixed: list[Quad] = []
        for quad in quads:
            if not any(_SLOT_PREFIX in term for term in quad):
                fixed.append(quad)
                continue
            terms: list[str | int] = []
            for term in quad:
                if _SLOT_PREFIX not in term:
                    terms.append(term)
                    continue
                m = _SLOT_TERM.fullmatch(term)
                if m is None:
                    return _NOT_TEMPLATABLE  # inside a larger string, a JSON literal, a datatype...
                if m.group(1) is not None:
                    slot, suffix = int(m.group(1)), None
                else:
                    slot, suffix = int(m.group(2)), m.group(3) or ""
                    if _SLOT_PREFIX in suffix:
                        return _NOT_TEMPLATABLE
                if suffixes.setdefault(slot, suffix) != suffix:
                    return _NOT_TEMPLATABLE  # one string, two kinds of term
                terms.append(slot)
            spec.append(tuple(terms))
        if len(suffixes) != n_slots:
            return _NOT_TEMPLATABLE  # some string does not reach the RDF form as a whole term
        state = _RdfcState(_dedupe_quads(quads), "sha256", DEFAULT_MAX_WORK)
        slotted_nodes = {t for q in spec for t in q if isinstance(t, str) and t.startswith("_:")}
        def slots(q: tuple) -> tuple[bool, ...]:
            return tuple(isinstance(t, int) for t in q)

        object_slot = [q for q in spec if slots(q) == (False, False, True, False)]
        subject_slot = [q for q in spec if slots(q) == (True, False, False, False)]
        subject_object_slots = [q for q in spec if slots(q) == (True, False, True, False)]
        grouped = {(False, False, True, False), (True, False, False, False), (True, False, True, False)}
        others = [q for q in spec if slots(q) not in grouped]
        spec = object_slot + subject_slot + subject_object_slots + others  # the order _instantiate builds them in
        return _Template(
            fixed=tuple(fixed),
            object_slot=tuple(object_slot),  # type: ignore[arg-type]
            subject_slot=tuple(subject_slot),  # type: ignore[arg-type]
            subject_object_slots=tuple(subject_object_slots),  # type: ignore[arg-type]
            quads=tuple(others),  # type: ignore[arg-type]
            first_degree={n: state.hash_first_degree(n) for n in state.bnode_quads if n not in slotted_nodes},
            literal_suffix=tuple(suffixes[i] for i in range(n_slots)),
            terms=self._terms_in_play(doc),
            plan=LayoutPlan(fixed + spec, [suffixes[i] for i in range(n_slots)]),
            rendered=[None] * n_slots,
        )

    def _instantiate(self, template: _Template, values: list[str]) -> tuple[list[Quad], list[str]] | None:
        rendered: list[str] = []
        terms = template.terms
        memo = template.rendered
        # Most strings of a batch are the same objects in every document (the shared achievement): remember each
        # slot's last (value, rendering) pair. One tuple per slot, replaced whole, so concurrent readers never see a
        # value paired with another value's rendering.
        for i, (value, suffix) in enumerate(zip(values, template.literal_suffix)):
            last = memo[i]
            if last is not None and last[0] == value:
                rendered.append(last[1])
                continue
            if suffix is None:
                m = _PLAIN_ABSOLUTE_IRI.fullmatch(value)
                if m is None or value in terms or m.group(1) in terms:
                    return None
                term = "<" + value + ">"
            else:
                term = '"' + escape_literal(value) + '"' + suffix
            memo[i] = (value, term)
            rendered.append(term)
        r = rendered
        quads = list(template.fixed)
        # Most quads have slots only in subject and/or object position: build those without testing each term.
        quads += [(s, p, r[o], g) for s, p, o, g in template.object_slot]
        quads += [(r[s], p, o, g) for s, p, o, g in template.subject_slot]
        quads += [(r[s], p, r[o], g) for s, p, o, g in template.subject_object_slots]
        quads.extend(
            (
                s if s.__class__ is str else r[s],
                p if p.__class__ is str else r[p],
                o if o.__class__ is str else r[o],
                g if g.__class__ is str else r[g],
            )
            for s, p, o, g in template.quads
        )
        return quads, rendered  # type: ignore[return-value]

    def _terms_in_play(self, doc: dict[str, Any]) -> frozenset[str]:
        if self._shipped_terms is None:
            terms: set[str] = set()
            for url in self.loader.known:
                _collect_terms(self.loader.document(url).get("@context"), terms)
            self._shipped_terms = frozenset(terms)
        inline: set[str] = set()
        _collect_inline_terms(doc, inline)
        return self._shipped_terms | inline


def _collect_terms(ctx: Any, terms: set[str]) -> None:
    if isinstance(ctx, list):
        for item in ctx:
            _collect_terms(item, terms)
    elif isinstance(ctx, dict):
        for key, item in ctx.items():
            if not key.startswith("@"):
                terms.add(key)
            if isinstance(item, dict) and "@context" in item:
                _collect_terms(item["@context"], terms)


def _collect_vocab_typed_terms(ctx: Any, terms: set[str]) -> None:
    if isinstance(ctx, list):
        for item in ctx:
            _collect_vocab_typed_terms(item, terms)
    elif isinstance(ctx, dict):
        for key, item in ctx.items():
            if isinstance(item, dict):
                if item.get("@type") == "@vocab" and not key.startswith("@"):
                    terms.add(key)
                if "@context" in item:
                    _collect_vocab_typed_terms(item["@context"], terms)


def _collect_inline_terms(value: Any, terms: set[str]) -> None:
    if isinstance(value, list):
        for item in value:
            _collect_inline_terms(item, terms)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key == "@context":
                _collect_terms(item, terms)
            else:
                _collect_inline_terms(item, terms)
