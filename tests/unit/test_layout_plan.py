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
