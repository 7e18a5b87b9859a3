"""LayoutPlan: the fast RDFC-1.0 for documents of one template equals the general algorithm, or declines."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from verifier.rdfc import LayoutPlan, canonicalize_quads

LAYOUT = [
    ("<urn:x:cred>", "<urn:p:subject>", "_:b0", ""),
    ("_:b0", "<urn:p:name>", "SLOT0", ""),
    ("_:b0", "<urn:p:identifier>", "_:b1", ""),
    ("_:b1", "<urn:p:hash>", "SLOT1", ""),
    ("_:b1", "<urn:p:salt>", "SLOT2", ""),
    ("_:b2", "<urn:p:alignment>", '"shared"', ""),
    ("<urn:x:cred>", "<urn:p:alignment>", "_:b2", ""),
    ("<urn:x:cred>", "<urn:p:proof>", "_:b3", ""),
    ("_:b4", "<urn:p:value>", "SLOT3", "_:b3"),
]


def fill(values):
    out = []
    for s, p, o, g in LAYOUT:
        if o.startswith("SLOT"):
            o = '"' + values[int(o[4:])] + '"'
        out.append((s, p, o, g))
    return out


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", "shared", "x y", "é"]), min_size=4, max_size=4))
def test_plan_equals_the_general_algorithm_or_declines(values):
    quads = fill(values)
    plan = LayoutPlan(fill(["s0", "s1", "s2", "s3"]))
    fast = plan.canonicalize(quads)
    if fast is not None:
        assert fast == canonicalize_quads(quads)
    # the plan is reusable: a second document of the layout, from a warm cache, still agrees
    again = plan.canonicalize(quads)
    assert again == fast


def test_plan_declines_shared_first_degree_hashes():
    # two blank nodes with the same quads shape and the same values: RDFC needs the n-degree step
    quads = [
        ("<urn:x:a>", "<urn:p:q>", "_:b0", ""),
        ("<urn:x:a>", "<urn:p:q>", "_:b1", ""),
        ("_:b0", "<urn:p:v>", '"same"', ""),
        ("_:b1", "<urn:p:v>", '"same"', ""),
    ]
    assert LayoutPlan(quads).canonicalize(quads) is None
    assert canonicalize_quads(quads)  # the general algorithm still answers


def test_plan_declines_duplicate_quads_and_other_layouts():
    quads = fill(["a", "b", "c", "d"])
    plan = LayoutPlan(quads)
    assert plan.canonicalize(quads + [quads[0]]) is None
    assert plan.canonicalize(quads[:-1]) is None
    assert plan.canonicalize(quads) == canonicalize_quads(quads)


SLOTTED = [
    ("<urn:x:cred>", "<urn:p:subject>", "_:b0", ""),
    ("_:b0", "<urn:p:name>", 0, ""),
    ("_:b0", "<urn:p:name>", 1, ""),  # may render equal to the quad above: a dataset is a set
    ("_:b0", "<urn:p:identifier>", "_:b1", ""),
    ("_:b1", "<urn:p:hash>", 2, ""),
    ("_:b2", "<urn:p:label>", 3, ""),
    ("<urn:x:cred>", "<urn:p:alignment>", "_:b2", ""),
    ("_:b3", "<urn:p:label>", 4, ""),  # same shape as _:b2: equal values make equal first-degree hashes
    ("<urn:x:cred>", "<urn:p:alignment>", "_:b3", ""),
    (5, "<urn:p:seeAlso>", '"fixed"', ""),
]
KINDS = ["", "", "", "", "", None]


def render(values):
    return ['"' + v + '"' for v in values[:5]] + ["<urn:x:" + values[5] + ">"]


def instantiate(rendered):
    return [tuple(rendered[t] if isinstance(t, int) else t for t in q) for q in SLOTTED]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", "c"]), min_size=6, max_size=6))
def test_slotted_plan_equals_the_general_algorithm_or_declines(values):
    plan = LayoutPlan(SLOTTED, KINDS)
    rendered = render(values)
    quads = instantiate(rendered)
    fast = plan.canonicalize(quads, rendered)
    if values[0] == values[1] or values[3] == values[4]:
        assert fast is None  # duplicate quads, or two nodes with one first-degree hash
    else:
        assert fast == canonicalize_quads(quads)
    assert plan.canonicalize(quads, rendered) == fast  # warm cache, same answer
