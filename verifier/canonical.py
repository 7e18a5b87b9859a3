"""Canonical form (RDFC-1.0 N-Quads) of a JSON-LD document, with undefined terms refused.

DESIGN.md "Canonical hashing": a property or type that no context defines must not be silently dropped from the
signed form. We expand once with a fallback ``@vocab`` placed *first* in the document's ``@context`` (so any context
that sets its own ``@vocab``, such as the W3C examples context, still wins) and refuse every IRI in the fallback
namespace or in the VC 2.0 ``issuer-dependent`` namespace (VCDM 2.0 §5.2 "Extensibility": the VC 2.0 context maps
undefined terms there). If no such IRI appears, the fallback changed nothing and the same expansion is turned into
RDF. Other ways a term or value could vanish are refused before or after expansion: ``null`` in a context (which
resets or un-defines terms), unknown ``@``-keywords (ignored by JSON-LD 1.1 §9.1), and relative IRIs that the
RDF conversion would drop (JSON-LD 1.1 API §8.2 / toRdf skips them).

``verifier.shapes.Canonicalizer`` is the fast path for many documents of one shape; ``canonicalize`` is the
reference it is tested against.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from pyld import jsonld
from pyld.identifier_issuer import IdentifierIssuer

from verifier.documentloader import DEFAULT_LOADER, DocumentLoader
from verifier.errors import InvalidInputError, UnmappedTermError
from verifier.rdfc import Quad, canonicalize_quads, iri_term, literal_term

_PYLD_LOCK = threading.Lock()
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
    # pyld keeps a module-global context cache that is not thread-safe ("OrderedDict mutated during iteration" under
    # a verifier service's concurrent requests): one JSON-LD run at a time. The fast path (verifier.shapes) takes this
    # only once per document shape.
    with _PYLD_LOCK:
        return _to_quads_locked(processor, doc, options)


def _to_quads_locked(processor: Any, doc: dict[str, Any], options: dict[str, Any]) -> list[Quad]:
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
