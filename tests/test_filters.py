"""The filter language: builder, dict syntax, reference semantics, errors."""

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vecctx import F, InvalidFilterError, parse_filter
from vecctx.contract.compiler import simplify, to_nnf
from vecctx.contract.filters import MAX_FILTER_DEPTH, And, Cmp, Exists, Filter, In, Not, Op, Or


def test_builder_and_dict_syntax_agree() -> None:
    built = (F("year") >= 2020) & F("lang").in_(["en", "de"]) & ~F("draft").exists()
    parsed = parse_filter(
        {"year": {"$gte": 2020}, "lang": {"$in": ["en", "de"]}, "$not": {"draft": {"$exists": True}}}
    )
    assert built == parsed
    assert built.ops() == {Op.AND, Op.GTE, Op.IN, Op.NOT, Op.EXISTS}
    assert built.keys() == {"year", "lang", "draft"}


def test_precedence_mistake_is_a_clear_error() -> None:
    with pytest.raises(InvalidFilterError, match="parenthes"):
        F("year") >= 2020 & F("lang").in_(["en"])  # type: ignore[operator]  # noqa: B015


def test_filters_have_no_truth_value() -> None:
    with pytest.raises(InvalidFilterError, match="truth value"):
        bool(F("a") == 1)


@pytest.mark.parametrize(
    ("meta", "flt", "expected"),
    [
        ({}, F("a") == 1, False),
        ({}, F("a") != 1, True),
        ({"a": None}, F("a") != 1, True),
        ({"a": None}, F("a").exists(), False),
        ({"a": []}, F("a").exists(), False),
        ({"a": [None]}, F("a").exists(), False),
        ({"a": [1]}, F("a").exists(), True),
        ({"a": 0}, F("a").exists(), True),
        ({"a": 1}, F("a") == 1.0, True),
        ({"a": 1.0}, F("a") == 1, True),
        ({"a": True}, F("a") == 1, False),
        ({"a": 1}, F("a") == True, False),  # noqa: E712
        ({"a": "1"}, F("a") == 1, False),
        ({"a": "1"}, F("a") != 1, True),
        ({"a": "5"}, F("a") > 1, False),
        ({"a": True}, F("a") > 0, False),
        ({"a": [1, 5]}, F("a") > 4, True),
        ({"a": [1, 5]}, F("a") == 5, True),
        ({"a": [1, 5]}, F("a") != 5, False),
        ({"a": ["x", "y"]}, F("a").in_(["y", "z"]), True),
        ({"a": ["x", "y"]}, F("a").nin(["y", "z"]), False),
        ({}, F("a").nin(["y"]), True),
        ({"a": {"b": {"c": 3}}}, F("a.b.c") == 3, True),
        ({"a": {"b": 3}}, F("a.b.c") == 3, False),
        ({"a": [{"b": 3}]}, F("a.b") == 3, False),
        ({"a": "x"}, F("a.b").exists(), False),
        ({"a": 2}, F("a").between(2, 3), True),
        ({"a": 3.5}, F("a").between(2, 3), False),
    ],
)
def test_reference_semantics(meta: dict[str, Any], flt: Filter, expected: bool) -> None:
    assert flt.matches(meta) is expected


def test_ne_is_not_eq_and_nin_is_not_in() -> None:
    for meta in [{}, {"a": 1}, {"a": 2}, {"a": [1, 2]}, {"a": None}, {"a": "1"}]:
        assert (F("a") != 1).matches(meta) == (~(F("a") == 1)).matches(meta)
        assert F("a").nin([1, 3]).matches(meta) == (~F("a").in_([1, 3])).matches(meta)


@pytest.mark.parametrize(
    ("spec", "path"),
    [
        ({"year": {"$bogus": 1}}, "$.year.$bogus"),
        ({"$or": []}, "$.$or"),
        ({"$or": [{"a": 1}, 5]}, "$.$or[1]"),
        ({"year": {"$gt": "2020"}}, "$.year.$gt"),
        ({"year": {"$in": "abc"}}, "$.year.$in"),
        ({"year": {"$in": [{"$date": "2024-05-01T12:00"}]}}, "$.year.$in[0]"),
        ({"year": {"$in": [1, {"x": 1}]}}, "$.year.$in[1]"),
        ({"year": [1, 2]}, "$.year"),
        ({"year": {"$gte": None}}, "$.year.$gte"),
        ({"year": {"$gte": {"$date": "yesterday"}}}, "$.year.$gte"),
        ({"$nor": [{"a": 1}]}, "$.$nor"),
        ({"a..b": 1}, "$.a..b"),
        ({"a": {"$exists": "yes"}}, "$.a.$exists"),
        ({"a": {"$eq": float("nan")}}, "$.a.$eq"),
        ({"$not": {}}, "$.$not"),
    ],
)
def test_invalid_filters_name_the_path(spec: dict[str, Any], path: str) -> None:
    with pytest.raises(InvalidFilterError) as info:
        parse_filter(spec)
    assert info.value.path == path


def test_builder_validation() -> None:
    with pytest.raises(InvalidFilterError):
        F("a") < "b"  # type: ignore[arg-type]  # noqa: B015
    with pytest.raises(InvalidFilterError):
        F("a").in_("abc")
    with pytest.raises(InvalidFilterError):
        F("")
    with pytest.raises(InvalidFilterError, match="naive"):
        F("a") >= datetime(2024, 5, 1)  # noqa: B015
    with pytest.raises(InvalidFilterError, match="not a datetime"):
        F("a") == date(2024, 5, 1)  # noqa: B015


def test_empty_and_none_mean_no_filter() -> None:
    assert parse_filter(None) is None
    assert parse_filter({}) is None
    with pytest.raises(InvalidFilterError):
        parse_filter([{"a": 1}])  # type: ignore[arg-type]


def test_double_negation_and_flattening() -> None:
    f = F("a") == 1
    assert ~~f == f
    g = (F("a") == 1) & (F("b") == 2) & (F("c") == 3)
    assert isinstance(g, And) and len(g.children) == 3
    h = (F("a") == 1) | (F("b") == 2) | (F("c") == 3)
    assert isinstance(h, Or) and len(h.children) == 3


_keys = st.sampled_from(["a", "b", "a.b", "c.d.e"])
#: Aware datetimes a few hours apart, in several offsets (one instant has many spellings).
_instants = st.builds(
    lambda h, tz: (
        datetime(2024, 5, 1, tzinfo=UTC).astimezone(timezone(timedelta(hours=tz))) + timedelta(hours=h)
    ),
    st.integers(-3, 3),
    st.integers(-5, 5),
)
_scalars = st.one_of(
    st.text(max_size=5), st.integers(-5, 5), st.floats(-5, 5, allow_nan=False), st.booleans(), _instants
)
_numbers = st.one_of(st.integers(-5, 5), st.floats(-5, 5, allow_nan=False), _instants)
_leaves = st.one_of(
    st.builds(lambda k, v: Cmp(k, Op.EQ, v), _keys, _scalars),
    st.builds(lambda k, v: Cmp(k, Op.NE, v), _keys, _scalars),
    st.builds(
        lambda k, op, v: Cmp(k, op, v), _keys, st.sampled_from([Op.LT, Op.LTE, Op.GT, Op.GTE]), _numbers
    ),
    st.builds(
        lambda k, vs, n: In(k, tuple(vs), negate=n),
        _keys,
        st.lists(_scalars, min_size=0, max_size=3),
        st.booleans(),
    ),
    st.builds(Exists, _keys),
)
_trees = st.recursive(
    _leaves,
    lambda kids: st.one_of(
        st.builds(lambda cs: And(tuple(cs)), st.lists(kids, min_size=1, max_size=3)),
        st.builds(lambda cs: Or(tuple(cs)), st.lists(kids, min_size=1, max_size=3)),
        st.builds(Not, kids),
    ),
    max_leaves=8,
)
_meta = st.dictionaries(
    st.sampled_from(["a", "b", "c"]),
    st.one_of(_scalars, st.none(), st.lists(_scalars, max_size=3), st.fixed_dictionaries({"b": _scalars})),
)


@settings(max_examples=300, deadline=None)
@given(_trees, _meta)
def test_dict_roundtrip_preserves_semantics(flt: Filter, meta: dict[str, Any]) -> None:
    back = parse_filter(flt.to_dict())
    assert back is not None
    assert back.matches(meta) == flt.matches(meta)
    assert (~flt).matches(meta) != flt.matches(meta)


@settings(max_examples=300, deadline=None)
@given(_trees, _meta)
def test_simplify_keeps_the_meaning_and_drops_every_empty_list(flt: Filter, meta: dict[str, Any]) -> None:
    folded = simplify(to_nnf(flt))
    if isinstance(folded, bool):
        assert flt.matches(meta) is folded
    else:
        assert folded.matches(meta) == flt.matches(meta)
        assert not any(isinstance(n, In) and not n.values for n in folded.walk())


def test_empty_lists() -> None:
    for meta in [{}, {"a": 1}, {"a": None}, {"a": [1, 2]}, {"b": "x"}]:
        assert not F("a").in_([]).matches(meta)
        assert F("a").nin([]).matches(meta)
    assert parse_filter({"a": {"$in": []}}) == F("a").in_([])
    assert parse_filter(F("a").nin([]).to_dict()) == F("a").nin([])
    assert simplify(F("a").in_([])) is False
    assert simplify(F("a").nin([])) is True
    assert simplify(to_nnf(~F("a").in_([]))) is True
    assert simplify(F("a").in_([]) | (F("b") == 1)) == (F("b") == 1)
    assert simplify(F("a").in_([]) & (F("b") == 1)) is False
    assert simplify(to_nnf(~(F("a").nin([]) & (F("b") == 1)))) == (F("b") != 1)


def test_none_means_missing() -> None:
    assert (F("a") == None) == F("a").missing()  # noqa: E711
    assert (F("a") != None) == F("a").exists()  # noqa: E711
    assert F("a").in_([1, None]) == F("a").in_([1]) | F("a").missing()
    assert F("a").nin([1, None]) == F("a").nin([1]) & F("a").exists()
    assert F("a").in_([None]) == F("a").missing()
    assert F("a").nin([None]) == F("a").exists()
    assert parse_filter({"a": None}) == F("a").missing()
    assert parse_filter({"a": {"$eq": None}}) == F("a").missing()
    assert parse_filter({"a": {"$ne": None}}) == F("a").exists()
    assert parse_filter({"a": {"$in": [1, None]}}) == F("a").in_([1, None])
    assert parse_filter({"a": {"$nin": [None, 1]}}) == F("a").nin([1, None])
    for meta, in_1_none in [({}, True), ({"a": None}, True), ({"a": 1}, True), ({"a": 2}, False)]:
        assert F("a").in_([1, None]).matches(meta) is in_1_none
        assert F("a").nin([1, None]).matches(meta) is not in_1_none


def test_datetimes_compare_as_instants() -> None:
    noon_utc = datetime(2024, 5, 1, 12, tzinfo=UTC)
    noon_paris = datetime(2024, 5, 1, 14, tzinfo=timezone(timedelta(hours=2)))  # the same instant
    meta = {"published": noon_utc, "n": 5, "s": "2024-05-01T12:00:00+00:00"}
    assert (F("published") == noon_paris).matches(meta)
    assert (F("published") >= noon_paris).matches(meta)
    assert not (F("published") > noon_paris).matches(meta)
    assert (F("published") < noon_paris + timedelta(microseconds=1)).matches(meta)
    assert F("published").in_([noon_paris]).matches(meta)
    assert F("published").between(noon_utc - timedelta(days=1), noon_utc).matches(meta)
    assert not (F("n") >= noon_utc).matches(meta)  # a number is no date, nor a string
    assert not (F("s") == noon_utc).matches(meta)
    assert not (F("published") >= 0).matches(meta)  # nor a date a number
    assert not (F("published") == noon_utc).matches({"published": datetime(2024, 5, 1, 12)})


def test_datetimes_in_the_dict_syntax() -> None:
    when = datetime(2024, 5, 1, 14, tzinfo=timezone(timedelta(hours=2)))
    flt = (F("d") >= when) & F("d").nin([when])
    assert flt.to_dict() == {
        "$and": [
            {"d": {"$gte": {"$date": "2024-05-01T14:00:00+02:00"}}},
            {"d": {"$nin": [{"$date": "2024-05-01T14:00:00+02:00"}]}},
        ]
    }
    assert parse_filter(flt.to_dict()) == flt
    assert parse_filter({"d": {"$date": "2024-05-01T12:00:00Z"}}) == (F("d") == when)
    assert parse_filter({"d": {"$lt": {"$date": "2024-05-01"}}}) == (
        F("d") < datetime(2024, 5, 1, tzinfo=UTC)
    )
    with pytest.raises(InvalidFilterError, match="timezone"):
        parse_filter({"d": {"$gt": {"$date": "2024-05-01T12:00:00"}}})


def test_depth_counts_nesting_and_refuses_past_the_limit() -> None:
    leaf = F("a") == 1
    assert leaf.depth == 0
    assert ((leaf & (F("b") == 2)) & (F("c") == 3)).depth == 1  # a chain of & is one level
    assert (~(leaf | (F("b") == 2))).depth == 2
    f: Filter = leaf
    for i in range(MAX_FILTER_DEPTH):
        f = Or((f, leaf)) if i % 2 else And((f, leaf))
    assert f.depth == MAX_FILTER_DEPTH
    assert parse_filter(f.to_dict()) == f  # the deepest allowed filter round-trips
    with pytest.raises(InvalidFilterError, match=f"deeper than {MAX_FILTER_DEPTH}"):
        Not(f)
    with pytest.raises(InvalidFilterError) as info:
        parse_filter({"$not": f.to_dict()})
    assert "deeper than" in str(info.value)
    deep: dict[str, object] = {"a": 1}
    for _ in range(100_000):  # far past Python's recursion limit: still a typed error
        deep = {"$or": [deep, {"b": 2}]}
    with pytest.raises(InvalidFilterError, match="deeper than"):
        parse_filter(deep)
