"""Canonical form (RDFC-1.0 N-Quads) of a JSON-LD document, with undefined terms refused.

DESIGN.md "Canonical hashing": a property or type that no context defines must not be silently dropped from the
signed form. We expand once with a fallback ``@vocab`` placed *first* in the document's ``@context`` (so any context
that sets its own ``@vocab``, such as the W3C examples context, still wins) and refuse every IRI in the fallback
namespace or in the VC 2.0 ``issuer-dependent`` namespace (VCDM 2.0 §5.2 "Extensibility": the VC 2.0 context maps
undefined terms there). If no such IRI appears, the fallback changed nothing and the same expansion is turned into
RDF. Other ways a term or value could vanish are refused before or after expansion: ``null`` in a context (which
resets or un-defines terms), unknown ``@``-keywords (ignored by JSON-LD 1.1 §9.1), and relative IRIs that the
RDF conversion would drop (JSON-LD 1.1 API §8.2 / toRdf skips them).

``Canonicalizer`` is the fast path for many documents of one shape (see its docstring); ``canonicalize`` is the
reference it is tested against.
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

from pyld import jsonld
from pyld.identifier_issuer import IdentifierIssuer

from verifier.documentloader import DEFAULT_LOADER, DocumentLoader
from verifier.errors import InvalidInputError, UnmappedTermError
from verifier.rdfc import DEFAULT_MAX_WORK, LayoutPlan, Quad, canonicalize_quads, escape_literal, iri_term, literal_term
from verifier.rdfc import _dedupe as _dedupe_quads
from verifier.rdfc import _State as _RdfcState

FALLBACK_VOCAB = "urn:x-anchorcred-undefined-term:"
ISSUER_DEPENDENT = "https://www.w3.org/ns/credentials/issuer-dependent#"
_UNDEFINED_NAMESPACES = (FALLBACK_VOCAB, ISSUER_DEPENDENT)
# jsonld.js's isAbsolute test; fullmatch, so a trailing newline is not absolute (pyld's re.match + "$" lets it in)
_ABSOLUTE_IRI = re.compile(r"([A-Za-z][A-Za-z0-9+\-.]*|_):[^\s]*")

# JSON-LD 1.1 keywords (§1.7); any other "@" + letters key is ignored by expansion, so we refuse it.
_KEYWORDS = frozenset(
    "@base @container @context @direction @graph @id @import @included @index @json @language @list @nest @none "
    "@prefix @propagate @protected @reverse @set @type @value @version @vocab".split()
)
_KEYWORD_LIKE = re.compile(r"^@[a-zA-Z]+$")


class JsonLdProcessingError(InvalidInputError):
    """The JSON-LD processor refused the document (invalid syntax, protected term redefinition, ...)."""


class DroppedValueError(InvalidInputError):
    """A value would be silently left out of the RDF form (a relative IRI, a context that nulls terms)."""


# ---------------------------------------------------------------------------------------------------------------
# Full algorithm


def to_quads(doc: dict[str, Any], *, loader: DocumentLoader | None = None) -> list[Quad]:
    """The RDF dataset of ``doc`` as N-Quads term tuples (blank node labels as pyld issued them)."""
    loader = loader or DEFAULT_LOADER
    if not isinstance(doc, dict):
        raise InvalidInputError(f"expected a JSON-LD object, got {type(doc).__name__}")
    _check_input(doc, top=True)
    # base=None: keep relative IRIs relative (pyld would otherwise resolve them against its own example base)
    # so that _check_expanded refuses them, as jsonld.js would silently drop them.
    options = loader.jsonld_options(base=None, processingMode="json-ld-1.1", produceGeneralizedRdf=False)
    processor = jsonld.JsonLdProcessor()
    try:
        expanded = processor.expand(_with_fallback_vocab(doc), options)
        _check_expanded(expanded)
        issuer = IdentifierIssuer("_:b")
        node_map: dict[str, Any] = {"@default": {}}
        processor._create_node_map(expanded, node_map, "@default", issuer)
        quads: list[Quad] = []
        for graph_name, graph in node_map.items():
            if graph_name == "@default":
                g = ""
            elif graph_name.startswith("_:"):
                g = graph_name
            else:
                g = iri_term(graph_name)
            for triple in processor._graph_to_rdf(graph, issuer, options):
                quads.append((_term(triple["subject"]), _term(triple["predicate"]), _term(triple["object"]), g))
        return quads
    except jsonld.JsonLdError as exc:
        raise _map_jsonld_error(exc) from exc
    except (TypeError, ValueError, KeyError, AttributeError) as exc:  # pyld's own bugs on odd input: refuse, don't crash
        raise JsonLdProcessingError(f"JSON-LD processing failed: {type(exc).__name__}: {exc}") from exc


def canonicalize(doc: dict[str, Any], *, loader: DocumentLoader | None = None) -> str:
    """RDFC-1.0 canonical N-Quads of a JSON-LD document (the full, reference algorithm)."""
    return canonicalize_quads(to_quads(doc, loader=loader))


def _term(t: dict[str, str]) -> str:
    kind = t["type"]
    if kind == "IRI":
        return iri_term(t["value"])
    if kind == "blank node":
        return t["value"]
    return literal_term(t["value"], t.get("datatype"), t.get("language"))


def _with_fallback_vocab(doc: dict[str, Any]) -> dict[str, Any]:
    ctx = doc.get("@context")
    if ctx is None:
        contexts: list[Any] = []
    elif isinstance(ctx, list):
        contexts = list(ctx)
    else:
        contexts = [ctx]
    out = dict(doc)
    out["@context"] = [{"@vocab": FALLBACK_VOCAB}, *contexts]
    return out


def _check_input(value: Any, *, top: bool = False) -> None:
    """Refuse what JSON-LD would drop without the fallback vocabulary noticing (see module docstring)."""
    if isinstance(value, list):
        for item in value:
            _check_input(item)
        return
    if not isinstance(value, dict):
        return
    for key, item in value.items():
        if key == "@context":
            _check_context(item)
            continue
        if _KEYWORD_LIKE.match(key) and key not in _KEYWORDS:
            raise UnmappedTermError([key])
        _check_input(item)


def _check_context(ctx: Any) -> None:
    if ctx is None:
        raise DroppedValueError("a null @context resets every term definition; terms could be silently dropped")
    if isinstance(ctx, list):
        for item in ctx:
            _check_context(item)
    elif isinstance(ctx, dict):
        for key, item in ctx.items():
            if item is None:
                raise DroppedValueError(f"the context maps {key!r} to null; such terms would be silently dropped")
            if isinstance(item, dict):
                if item.get("@id", "") is None:
                    raise DroppedValueError(f"the context maps {key!r} to null; it would be silently dropped")
                if "@context" in item:
                    _check_context(item["@context"])


def _check_expanded(expanded: Any) -> None:
    undefined: list[str] = []
    relative: list[str] = []
    _walk_expanded(expanded, undefined, relative)
    if undefined:
        raise UnmappedTermError(undefined)
    if relative:
        raise DroppedValueError(
            "relative IRIs would be dropped from the signed form (expected absolute IRIs or blank nodes): "
            + ", ".join(sorted(set(relative)))
        )


def _undefined_name(iri: str) -> str | None:
    for ns in _UNDEFINED_NAMESPACES:
        if iri.startswith(ns):
            return iri[len(ns):]
    return None


def _check_iri(iri: Any, undefined: list[str], relative: list[str], *, vocab: bool) -> None:
    if not isinstance(iri, str):
        return
    name = _undefined_name(iri) if vocab else None
    if name is not None:
        undefined.append(name)
    elif not (iri.startswith("_:") or _ABSOLUTE_IRI.fullmatch(iri)):
        relative.append(iri)


def _walk_expanded(value: Any, undefined: list[str], relative: list[str]) -> None:
    if isinstance(value, list):
        for item in value:
            _walk_expanded(item, undefined, relative)
        return
    if not isinstance(value, dict):
        return
    is_value = "@value" in value
    for key, item in value.items():
        if key == "@id":
            if item is None:  # JSON-LD 1.1 §9.3: a keyword-like @id ("@foo") expands to null and is ignored
                relative.append("<@id ignored by JSON-LD: keyword-like value>")
            _check_iri(item, undefined, relative, vocab=True)
        elif key == "@type":
            if is_value and item == "@json":
                continue
            for t in item if isinstance(item, list) else [item]:
                _check_iri(t, undefined, relative, vocab=True)
        elif key in ("@value", "@language", "@direction", "@index"):
            continue
        elif key == "@reverse":
            for prop, values in item.items():
                _check_iri(prop, undefined, relative, vocab=True)
                _walk_expanded(values, undefined, relative)
        elif key.startswith("@"):
            _walk_expanded(item, undefined, relative)
        else:
            _check_iri(key, undefined, relative, vocab=True)
            _walk_expanded(item, undefined, relative)


def _map_jsonld_error(exc: BaseException) -> InvalidInputError:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, InvalidInputError):
            return cause
        cause = cause.__cause__ or cause.__context__
    code = getattr(exc, "code", None)
    message = getattr(exc, "message", None) or str(exc)
    return JsonLdProcessingError(f"JSON-LD processing failed ({code or getattr(exc, 'type', type(exc).__name__)}): {message}")


# ---------------------------------------------------------------------------------------------------------------
# Fast path: one expansion per document shape


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
        self._memo: OrderedDict[str, str] = OrderedDict()
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

    def canonicalize(self, doc: dict[str, Any], *, memo: bool = False) -> str:
        """Canonical N-Quads of ``doc``. ``memo=True`` also caches by the exact JSON (for repeated proof configs)."""
        if memo:
            key = json.dumps(doc, sort_keys=True, ensure_ascii=False)
            hit = self._memo.get(key)
            if hit is not None:
                self._memo.move_to_end(key)
                return hit
            result = self.canonicalize(doc)
            self._memo[key] = result
            if len(self._memo) > self.maxsize:
                self._memo.popitem(last=False)
            return result
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

    def to_quads(self, doc: dict[str, Any]) -> list[Quad]:
        return self._quads(doc)[0]

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
