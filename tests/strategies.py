"""Hypothesis strategies for valid models (and the wire JSON they become)."""

from __future__ import annotations

from hypothesis import strategies as st

from webex_campaign_async import (
    Attribute,
    Condition,
    LogicalOp,
    ProfileUpsert,
    RelOp,
    UpdateLink,
    UpsertMode,
)

names = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=20
).filter(lambda s: s.strip() != "")

scalars = st.one_of(
    st.text(max_size=30),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
)

attributes = st.one_of(
    st.builds(Attribute, names, val=scalars),
    st.builds(lambda i, v: Attribute(id=i, val=v), names, scalars),
)

conditions = st.one_of(
    st.builds(
        Condition,
        st.one_of(names, st.just("")),
        rel_op=st.sampled_from(RelOp),
        val=scalars,
        logical_op=st.sampled_from(LogicalOp),
    ),
    st.builds(
        lambda i, op, v, lop: Condition(id=i, rel_op=op, val=v, logical_op=lop),
        names,
        st.sampled_from(RelOp),
        scalars,
        st.sampled_from(LogicalOp),
    ),
)


def _unique_attributes(items: list[Attribute]) -> list[Attribute]:
    seen: dict[str, Attribute] = {}
    for item in items:
        seen.setdefault(item.label, item)
    return list(seen.values())


@st.composite
def profiles(draw: st.DrawFn) -> ProfileUpsert:
    by_key = draw(st.booleans())
    return ProfileUpsert(
        draw(names),
        key=draw(names) if by_key else None,
        filter=None if by_key else draw(st.lists(conditions, min_size=1, max_size=4)),
        attributes=_unique_attributes(draw(st.lists(attributes, min_size=1, max_size=12))),
        upsert=draw(st.sampled_from(UpsertMode)),
        update_link=draw(st.one_of(st.none(), st.sampled_from(UpdateLink))),
        exparam=draw(
            st.one_of(st.none(), st.dictionaries(names, scalars, min_size=0, max_size=10), names)
        ),
    )
