"""RDF Dataset Canonicalization (RDFC-1.0, W3C Recommendation https://www.w3.org/TR/rdf-canon/).

Works on quads whose terms are already in canonical N-Quads syntax: ``('<s>', '<p>', '"o"^^<dt>', '')``; blank
nodes are ``_:label``; the graph term is ``''`` for the default graph. ``parse_nquads`` turns any N-Quads text into
that form (unescaping and re-escaping every term the canonical way, RDFC-1.0 §4.3 / RDF 1.2 N-Quads §canonical).

Why our own: pyld's URDNA2015 re-parses and re-serializes dict terms and takes ~4.5 ms on a 64-quad credential; this
works on strings, hashes each blank node's quads once and costs a fraction of that.

A work budget guards against poison graphs (RDFC-1.0 §6 "Security considerations"): the Hash N-Degree Quads
algorithm is exponential in the worst case; past ``max_work`` permutations + recursions it raises
``CanonicalizationLimitError``.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence

from verifier.errors import InvalidInputError

Quad = tuple[str, str, str, str]

DEFAULT_MAX_WORK = 100_000
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"


class CanonicalizationLimitError(InvalidInputError):
    """The dataset needs more work than allowed to canonicalize (a poison graph, RDFC-1.0 §6)."""


class NQuadsSyntaxError(InvalidInputError):
    """N-Quads text that cannot be parsed."""


# ---------------------------------------------------------------------------------------------------------------
# Canonical term escaping (RDF 1.2 N-Quads canonical form, as rdf-canonize 5 / jsonld.js serialize it)

_LITERAL_ESCAPE_RE = re.compile('[\u0000-\u001f\u007f"\\\\]')
_LITERAL_ESCAPES = {chr(n): "\\u%04X" % n for n in list(range(0x20)) + [0x7F]}
_LITERAL_ESCAPES.update({"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r", '"': '\\"', "\\": "\\\\"})
_IRI_ESCAPE_RE = re.compile('[\u0000-\u0020<>"{}|^`\\\\]')


def escape_literal(value: str) -> str:
    """Escape a literal's lexical form for canonical N-Quads (ECHAR for \\b\\t\\n\\f\\r\"\\\\, UCHAR otherwise)."""
    if _LITERAL_ESCAPE_RE.search(value) is None:
        return value
    return _LITERAL_ESCAPE_RE.sub(lambda m: _LITERAL_ESCAPES[m.group(0)], value)


def escape_iri(value: str) -> str:
    if _IRI_ESCAPE_RE.search(value) is None:
        return value
    return _IRI_ESCAPE_RE.sub(lambda m: "\\u%04X" % ord(m.group(0)), value)


def iri_term(iri: str) -> str:
    return "<" + escape_iri(iri) + ">"


def literal_term(value: str, datatype: str | None = None, language: str | None = None) -> str:
    """Canonical N-Quads literal: language-tagged, typed, or plain (xsd:string is written without a datatype)."""
    body = '"' + escape_literal(value) + '"'
    if language:
        return body + "@" + language
    if datatype and datatype != XSD_STRING:
        return body + "^^<" + escape_iri(datatype) + ">"
    return body


# ---------------------------------------------------------------------------------------------------------------
# Parsing

_UNESCAPE_RE = re.compile(r'\\(?:([btnfr"\'\\])|u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8}))')
_ECHARS = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "'": "'", "\\": "\\"}


def _unescape(text: str) -> str:
    if "\\" not in text:
        return text

    def repl(m: re.Match[str]) -> str:
        if m.group(1):
            return _ECHARS[m.group(1)]
        return chr(int(m.group(2) or m.group(3), 16))

    return _UNESCAPE_RE.sub(repl, text)


_IRI = r"<([^>]*)>"
_BNODE = r"(_:[A-Za-z0-9_\u00c0-\uffff][A-Za-z0-9_\-.\u00b7\u00c0-\uffff]*)"
_LITERAL = r'"((?:[^"\\]|\\.)*)"(?:@([A-Za-z]+(?:-[A-Za-z0-9]+)*)|\^\^<([^>]*)>)?'
_QUAD_RE = re.compile(
    r"^[ \t]*(?:" + _IRI + "|" + _BNODE + r")[ \t]*" + _IRI + r"[ \t]*(?:" + _IRI + "|" + _BNODE + "|" + _LITERAL
    + r")[ \t]*(?:(?:" + _IRI + "|" + _BNODE + r")[ \t]*)?\.[ \t]*(?:#.*)?$"
)


_EOL = re.compile(r"\r\n|\n|\r")


def parse_nquads(text: str) -> list[Quad]:
    """Parse N-Quads into canonical-syntax term tuples (duplicates kept; canonicalization removes them)."""
    quads: list[Quad] = []
    # Only CR and LF end a statement (N-Quads §EOL); str.splitlines would also split on U+0085, U+2028, ...
    for lineno, line in enumerate(_EOL.split(text), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        m = _QUAD_RE.match(line)
        if m is None:
            raise NQuadsSyntaxError(f"line {lineno}: not an N-Quads statement: {line!r}")
        g = m.group
        subject = iri_term(_unescape(g(1))) if g(1) is not None else g(2)
        predicate = iri_term(_unescape(g(3)))
        if g(4) is not None:
            obj = iri_term(_unescape(g(4)))
        elif g(5) is not None:
            obj = g(5)
        else:
            datatype = _unescape(g(8)) if g(8) is not None else None
            obj = literal_term(_unescape(g(6)), datatype, g(7))
        if g(9) is not None:
            graph = iri_term(_unescape(g(9)))
        else:
            graph = g(10) or ""
        quads.append((subject, predicate, obj, graph))
    return quads


def serialize_quad(quad: Quad) -> str:
    s, p, o, g = quad
    if g:
        return f"{s} {p} {o} {g} .\n"
    return f"{s} {p} {o} .\n"


# ---------------------------------------------------------------------------------------------------------------
# The algorithm (RDFC-1.0 §4)


class _IdentifierIssuer:
    """RDFC-1.0 §4.5: issues prefix+counter identifiers, remembering the order of issue."""

    __slots__ = ("prefix", "counter", "issued")

    def __init__(self, prefix: str, counter: int = 0, issued: dict[str, str] | None = None):
        self.prefix = prefix
        self.counter = counter
        self.issued: dict[str, str] = issued if issued is not None else {}

    def issue(self, existing: str) -> str:
        issued = self.issued.get(existing)
        if issued is None:
            issued = "_:" + self.prefix + str(self.counter)
            self.counter += 1
            self.issued[existing] = issued
        return issued

    def copy(self) -> _IdentifierIssuer:
        return _IdentifierIssuer(self.prefix, self.counter, dict(self.issued))


class _State:
    """RDFC-1.0 §4.2 canonicalization state for one run."""

    def __init__(self, quads: list[Quad], hash_name: str, max_work: int):
        self.quads = quads
        self.hash_name = hash_name
        self.work_left = max_work
        self.max_work = max_work
        self.canonical = _IdentifierIssuer("c14n")
        self.bnode_quads: dict[str, list[Quad]] = {
            node: [quads[i] for i in ix] for node, ix in blank_node_occurrences(quads).items()
        }
        self.first_degree: dict[str, str] = {}
        self._new_hash = getattr(hashlib, hash_name, None) or (lambda data: hashlib.new(hash_name, data))

    def digest(self, data: str) -> str:
        return self._new_hash(data.encode("utf-8")).hexdigest()

    def spend(self) -> None:
        self.work_left -= 1
        if self.work_left < 0:
            raise CanonicalizationLimitError(
                f"canonicalization needs more than {self.max_work} steps of blank-node disambiguation "
                f"(a poison graph, RDFC-1.0 §6): {len(self.bnode_quads)} blank nodes in {len(self.quads)} quads"
            )

    # §4.6 Hash First Degree Quads
    def hash_first_degree(self, node: str) -> str:
        cached = self.first_degree.get(node)
        if cached is not None:
            return cached
        result = self.digest(_first_degree_lines(node, self.bnode_quads[node]))
        self.first_degree[node] = result
        return result

    # §4.7 Hash Related Blank Node
    def hash_related(self, related: str, quad: Quad, issuer: _IdentifierIssuer, position: str) -> str:
        identifier = self.canonical.issued.get(related) or issuer.issued.get(related)
        if identifier is None:
            identifier = self.hash_first_degree(related)
        data = position + (quad[1] if position != "g" else "") + identifier
        return self.digest(data)

    # §4.8 Hash N-Degree Quads
    def hash_n_degree(self, node: str, issuer: _IdentifierIssuer) -> tuple[str, _IdentifierIssuer]:
        self.spend()
        related_by_hash: dict[str, list[str]] = {}
        for quad in self.bnode_quads[node]:
            s, _, o, g = quad
            for term, position in ((s, "s"), (o, "o"), (g, "g")):
                if term and term[0] == "_" and term != node:
                    h = self.hash_related(term, quad, issuer, position)
                    related_by_hash.setdefault(h, []).append(term)
        data = []
        for related_hash in sorted(related_by_hash):
            data.append(related_hash)
            chosen_path = ""
            chosen_issuer: _IdentifierIssuer | None = None
            for permutation in itertools.permutations(related_by_hash[related_hash]):
                self.spend()
                issuer_copy = issuer.copy()
                path = ""
                recursion: list[str] = []
                skip = False
                for related in permutation:
                    canonical_id = self.canonical.issued.get(related)
                    if canonical_id is not None:
                        path += canonical_id
                    else:
                        if related not in issuer_copy.issued:
                            recursion.append(related)
                        path += issuer_copy.issue(related)
                    if chosen_path and len(path) >= len(chosen_path) and path > chosen_path:
                        skip = True
                        break
                if skip:
                    continue
                for related in recursion:
                    result_hash, result_issuer = self.hash_n_degree(related, issuer_copy)
                    path += issuer_copy.issue(related)
                    path += "<" + result_hash + ">"
                    issuer_copy = result_issuer
                    if chosen_path and len(path) >= len(chosen_path) and path > chosen_path:
                        skip = True
                        break
                if skip:
                    continue
                if not chosen_path or path < chosen_path:
                    chosen_path = path
                    chosen_issuer = issuer_copy
            data.append(chosen_path)
            assert chosen_issuer is not None
            issuer = chosen_issuer
        return self.digest("".join(data)), issuer

    # §4.4 the main algorithm, steps 3-6
    def issue_canonical_ids(self) -> None:
        by_hash: dict[str, list[str]] = {}
        for node in self.bnode_quads:
            by_hash.setdefault(self.hash_first_degree(node), []).append(node)
        shared: list[list[str]] = []
        for h in sorted(by_hash):
            nodes = by_hash[h]
            if len(nodes) == 1:
                self.canonical.issue(nodes[0])
            else:
                shared.append(nodes)
        for nodes in shared:
            results = []
            for node in nodes:
                if node in self.canonical.issued:
                    continue
                temp = _IdentifierIssuer("b")
                temp.issue(node)
                results.append(self.hash_n_degree(node, temp))
            results.sort(key=lambda r: r[0])
            for _, issuer in results:
                for existing in issuer.issued:
                    self.canonical.issue(existing)


def blank_node_occurrences(quads: Sequence[Quad]) -> dict[str, list[int]]:
    """Blank node -> indices of the quads that mention it (once per quad), in quad order."""
    where: dict[str, list[int]] = {}
    for i, (s, _, o, g) in enumerate(quads):
        # Blank node terms are the only ones starting with "_" (IRIs start with "<", literals with '"').
        if s[0] == "_":
            where.setdefault(s, []).append(i)
        if o[0] == "_" and o != s:
            where.setdefault(o, []).append(i)
        if g and g[0] == "_" and g != s and g != o:
            where.setdefault(g, []).append(i)
    return where


def _first_degree_lines(node: str, quads: Iterable[Quad]) -> str:
    """§4.6 steps 2-4: the node's quads with itself as _:a and other blank nodes as _:z, sorted and joined."""
    lines = []
    for s, p, o, g in quads:
        if s[0] == "_":
            s = "_:a" if s == node else "_:z"
        if o[0] == "_":
            o = "_:a" if o == node else "_:z"
        if g and g[0] == "_":
            g = "_:a" if g == node else "_:z"
        lines.append(f"{s} {p} {o} {g} .\n" if g else f"{s} {p} {o} .\n")
    lines.sort()
    return "".join(lines)


class LayoutPlan:
    """RDFC-1.0 for many datasets of one *layout*: the same blank-node labels at the same quad positions.

    Every document of one template has one layout (blank nodes come from the template, values never become blank
    nodes). The plan knows where each blank node occurs, and remembers Hash First Degree Quads (§4.6) by the exact
    quads it covered, so nodes whose quads repeat across documents (a shared achievement) are hashed once.
    When every first-degree hash is unique, RDFC-1.0 §4.4 issues canonical ids in hash order and needs no n-degree
    step; that is the only case this plan handles. ``canonicalize`` returns None otherwise (duplicate quads, shared
    hashes, another layout) and the caller runs the general algorithm.
    """

    MAX_CACHE = 16384

    def __init__(self, quads: Sequence[tuple[str | int, ...]], slot_kinds: Sequence[str | None] = ()):
        """``quads``: the layout. A term is an N-Quads string, or an int k: slot k, whose rendered value differs per
        dataset; ``slot_kinds[k]`` is its kind (None for an IRI, else the literal's suffix), used only to tell which
        quads could ever render equal. Slots never render as blank nodes."""
        where = blank_node_occurrences([tuple(t if isinstance(t, str) else "<>" for t in q) for q in quads])
        self.length = len(quads)
        self.slotted = any(isinstance(t, int) for q in quads for t in q)
        # node -> (its quads, the slots in them): its first-degree hash depends on nothing else
        self.nodes = tuple(
            (node, tuple(ix), tuple(t for i in ix for t in quads[i] if isinstance(t, int))) for node, ix in where.items()
        )
        with_nodes = {i for ix in where.values() for i in ix}

        def is_node(t: str | int) -> bool:
            return isinstance(t, str) and t.startswith("_:")

        # Line formats by where the blank nodes are, so that the hot loop tests nothing per term.
        self._plain = tuple(i for i in range(len(quads)) if i not in with_nodes and quads[i][3] == "")
        self._plain_graph = tuple(i for i in range(len(quads)) if i not in with_nodes and quads[i][3] != "")
        self._node_subject = tuple(
            i for i in sorted(with_nodes) if is_node(quads[i][0]) and not is_node(quads[i][2]) and quads[i][3] == ""
        )
        self._node_object = tuple(
            i for i in sorted(with_nodes) if not is_node(quads[i][0]) and is_node(quads[i][2]) and quads[i][3] == ""
        )
        done = set(self._node_subject) | set(self._node_object)
        self._labelled = tuple(i for i in sorted(with_nodes) if i not in done)
        self._may_collide = _pairs_that_may_render_equal(quads, slot_kinds) if self.slotted else None
        self._cache: dict[tuple, str] = {}

    def canonicalize(self, quads: Sequence[Quad], rendered: Sequence[str] | None = None) -> str | None:
        """Canonical N-Quads of ``quads`` (an instance of the layout), or None when this plan does not apply.

        ``rendered``: the slot values the quads were made from, when the layout has slots; then duplicates are looked
        for only among quads that could collide, and hashes are remembered by slot values.
        """
        if len(quads) != self.length:
            return None
        if rendered is None or self._may_collide is None:
            if len(set(quads)) != self.length:
                return None
        elif any(quads[i] == quads[j] for i, j in self._may_collide):
            return None
        cache = self._cache
        by_node: dict[str, str] = {}
        for node, ix, slots in self.nodes:
            key = (node, tuple([rendered[k] for k in slots])) if rendered is not None else (node, tuple([quads[i] for i in ix]))
            h = cache.get(key)
            if h is None:
                h = hashlib.sha256(_first_degree_lines(node, [quads[i] for i in ix]).encode("utf-8")).hexdigest()
                if len(cache) >= self.MAX_CACHE:
                    cache.clear()
                cache[key] = h
            by_node[node] = h
        if len(set(by_node.values())) != len(by_node):
            return None
        label = {node: f"_:c14n{i}" for i, node in enumerate(sorted(by_node, key=by_node.__getitem__))}
        get = label.get
        lines = [f"{s} {p} {o} .\n" for s, p, o, _ in [quads[i] for i in self._plain]]
        lines += [f"{s} {p} {o} {g} .\n" for s, p, o, g in [quads[i] for i in self._plain_graph]]
        lines += [f"{label[s]} {p} {o} .\n" for s, p, o, _ in [quads[i] for i in self._node_subject]]
        lines += [f"{s} {p} {label[o]} .\n" for s, p, o, _ in [quads[i] for i in self._node_object]]
        lines += [
            f"{get(s, s)} {p} {get(o, o)} {get(g, g)} .\n" if g else f"{get(s, s)} {p} {get(o, o)} .\n"
            for s, p, o, g in [quads[i] for i in self._labelled]
        ]
        lines.sort()
        return "".join(lines)


def _pairs_that_may_render_equal(
    quads: Sequence[tuple[str | int, ...]], slot_kinds: Sequence[str | None]
) -> tuple[tuple[int, int], ...]:
    """Pairs of layout quads that some slot values could make identical (a dataset is a set: RDFC dedupes them).

    Two terms may render equal if both are the same string, both are slots of one kind, or one is a slot and the
    other a string (a slot may render as any string of its kind; checking the kind would be finer, not safer).
    """

    def compatible(a: str | int, b: str | int) -> bool:
        if isinstance(a, int) and isinstance(b, int):
            return slot_kinds[a] == slot_kinds[b] if slot_kinds else True
        if isinstance(a, int) or isinstance(b, int):
            return True
        return a == b

    pairs = []
    for i, qi in enumerate(quads):
        for j in range(i + 1, len(quads)):
            if all(compatible(a, b) for a, b in zip(qi, quads[j])):
                pairs.append((i, j))
    return tuple(pairs)


def _dedupe(quads: Iterable[Quad]) -> list[Quad]:
    return list(dict.fromkeys(quads))


def canonical_labels(
    quads: Iterable[Quad], *, hash_algorithm: str = "sha256", max_work: int = DEFAULT_MAX_WORK
) -> dict[str, str]:
    """The canonical issued identifiers map (input label without ``_:`` -> ``c14nN``), RDFC-1.0 §4.4 step 7."""
    state = _State(_dedupe(quads), hash_algorithm, max_work)
    state.issue_canonical_ids()
    return {k[2:]: v[2:] for k, v in state.canonical.issued.items()}


def canonicalize_quads(
    quads: Iterable[Quad],
    *,
    hash_algorithm: str = "sha256",
    max_work: int = DEFAULT_MAX_WORK,
    first_degree_hints: Mapping[str, str] | None = None,
) -> str:
    """Canonical N-Quads of a dataset: relabelled blank nodes, lines sorted by code point, each ending in ``\\n``.

    ``first_degree_hints``: known Hash First Degree Quads results (§4.6) for some blank nodes, by label; the caller
    guarantees each was computed, with this hash algorithm, over exactly the quads that mention that node here.
    """
    unique = _dedupe(quads)
    state = _State(unique, hash_algorithm, max_work)
    if first_degree_hints:
        state.first_degree.update(first_degree_hints)
    if not state.bnode_quads:
        return "".join(sorted(serialize_quad(q) for q in unique))
    state.issue_canonical_ids()
    issued = state.canonical.issued
    get = issued.get  # terms that are not blank nodes map to themselves
    lines = {
        f"{get(s, s)} {p} {get(o, o)} {get(g, g)} .\n" if g else f"{get(s, s)} {p} {get(o, o)} .\n"
        for s, p, o, g in unique
    }
    return "".join(sorted(lines))


def canonicalize_nquads(
    text: str, *, hash_algorithm: str = "sha256", max_work: int = DEFAULT_MAX_WORK
) -> str:
    return canonicalize_quads(parse_nquads(text), hash_algorithm=hash_algorithm, max_work=max_work)
