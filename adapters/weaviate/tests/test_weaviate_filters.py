"""The filter compiler, exhaustively over the shared filter cases.

Each compiled ``weaviate.classes.query.Filter`` is converted to the gRPC ``Filters`` message
the client sends (with the client's own converter) and evaluated, object by object, by the
fake server's evaluator (Weaviate's semantics as the fake's author reads them: arrays match
when any element does, ``Not`` is the complement, field tokenization trims). The result must
equal the reference evaluator's on every record. Structural tests pin the exact shapes.
"""

from __future__ import annotations

from typing import Any

import pytest
from vecctx_weaviate import FilterCompiler
from vecctx_weaviate.schema import class_config, flatten, key_token, properties_for, typed_property
from weaviate.collections.filters import _FilterToGRPC
from weaviate.proto.v1 import base_pb2
from weaviate_fake import FakeWeaviate, StoredObject, _Eval

from vecctx.contract.compiler import to_nnf
from vecctx.contract.errors import UnsupportedFeatureError
from vecctx.contract.filters import F, Filter, parse_filter
from vecctx.contract.types import CollectionSpec
from vecctx.testing import FLAT_CASES, FLAT_METADATA, LIST_CASES, LIST_METADATA, NESTED_CASES, NESTED_METADATA

Op = base_pb2.Filters

EXTRA_METADATA: list[dict[str, Any]] = [
    {"s": " padded ", "e": "", "k-1": "dash", "k_1": "under", "ünï": 1, "b": [True, False]},
    {"s": "padded", "e": "x", "k-1": "under", "k_1": "dash", "ünï": 2.5, "b": False},
    {"s": None, "n": [None, 3], "deep": {"a": {"b": {"c": "z"}}}, "mixed": [1, "1", True]},
    {"n": [[1, 2], 4], "deep": {"a": "flat"}, "mixed": ["true", 0]},
]
EXTRA_CASES: list[tuple[str, Filter]] = [
    ("whitespace_exact", F("s") == " padded "),
    ("whitespace_trimmed_other", F("s") == "padded"),
    ("empty_string", F("e") == ""),
    ("dash_key", F("k-1") == "dash"),
    ("underscore_key", F("k_1") == "dash"),
    ("unicode_key", F("ünï") >= 1),
    ("bool_list", F("b") == False),  # noqa: E712
    ("bool_in", F("b").in_([True])),
    ("null_in_list_exists", F("n").exists()),
    ("nested_list_not_compared", F("n") == 1),
    ("nested_list_range", F("n") > 3),
    ("deep_path", F("deep.a.b.c") == "z"),
    ("deep_through_string", F("deep.a.b").exists()),
    ("deep_object_exists", F("deep.a").exists()),
    ("mixed_eq_num", F("mixed") == 1),
    ("mixed_eq_bool", F("mixed") == True),  # noqa: E712
    ("mixed_eq_str", F("mixed") == "1"),
    ("mixed_nin", F("mixed").nin([0, "1"])),
    ("absent_key_eq", F("nowhere") == 1),
    ("absent_key_ne", F("nowhere") != 1),
    ("absent_key_nin", F("nowhere").nin(["a"])),
    ("absent_key_missing", F("nowhere").missing()),
    ("type_never_stored_ne", F("s") != 5),
    ("or_with_false_branch", (F("nowhere") == 1) | (F("s") == "padded")),
    ("and_with_true_branch", (F("nowhere") != 1) & (F("e") == "x")),
    ("not_of_false", ~(F("nowhere") > 1)),
]


def _objects(
    metadata: list[dict[str, Any]],
) -> tuple[FakeWeaviate, str, list[tuple[dict[str, Any], StoredObject]]]:
    fake = FakeWeaviate()
    body = class_config(CollectionSpec(name="cases", dimension=2))
    rows: list[tuple[dict[str, Any], StoredObject]] = []
    seen: dict[str, Any] = {}
    for i, meta in enumerate(metadata):
        flat = flatten(meta)
        seen.update(flat.kinds)
        props = properties_for(f"r{i}", None, meta, flat)
        rows.append(
            (meta, StoredObject(uuid=f"00000000-0000-0000-0000-{i:012d}", props=props, vector=None, seq=i))
        )  # type: ignore[arg-type]
    body["properties"] += [typed_property(name, kind) for name, kind in seen.items()]
    fake._create(body)
    return fake, body["class"], rows


def _check(metadata: list[dict[str, Any]], flt: Filter) -> None:
    fake, cls, rows = _objects(metadata)
    want = [flt.matches(meta) for meta, _ in rows]
    for form in (to_nnf(flt), flt):  # the front sends NNF; the compiler takes any filter
        compiled = FilterCompiler(fake.prop_types(cls).keys(), native_not=True).compile(form)
        if isinstance(compiled, bool):
            got = [compiled] * len(rows)
        else:
            proto = _FilterToGRPC.convert(compiled)
            ev = _Eval(fake, cls)
            ev.check(proto)  # types and properties are ones Weaviate accepts
            got = [ev.matches(proto, obj) for _, obj in rows]
        assert got == want, f"{form.to_dict()}: got {got}, want {want}"


_CASES = [
    pytest.param(metadata, flt, id=f"{group}-{case}")
    for group, metadata, cases in [
        ("flat", FLAT_METADATA, FLAT_CASES),
        ("nested", NESTED_METADATA, NESTED_CASES),
        ("list", LIST_METADATA, LIST_CASES),
        ("extra", EXTRA_METADATA, EXTRA_CASES),
    ]
    for case, flt in cases
]


@pytest.mark.parametrize(("metadata", "flt"), _CASES)
def test_shared_and_extra_cases(metadata: list[dict[str, Any]], flt: Filter) -> None:
    _check(metadata, flt)


# -- exact shapes --------------------------------------------------------------------------


def _proto(flt: Filter, props: set[str], *, native_not: bool = True) -> Any:
    compiled = FilterCompiler(props, native_not=native_not).compile(flt)
    assert not isinstance(compiled, bool)
    return _FilterToGRPC.convert(compiled)


ALL = {"mn_year", "ms_year", "ms_lang", "mb_draft", "mn_author_2age", "vecctx_keys"}


def test_number_equality_is_sent_as_a_float() -> None:
    p = _proto(F("year") == 2020, ALL)
    assert p.operator == Op.OPERATOR_CONTAINS_ANY and p.target.property == "mn_year"
    assert p.WhichOneof("test_value") == "value_number_array" and list(p.value_number_array.values) == [
        2020.0
    ]


def test_range_on_the_number_property() -> None:
    p = _proto(F("author.age") > 35, ALL)
    assert (p.operator, p.target.property, p.value_number) == (
        Op.OPERATOR_GREATER_THAN,
        "mn_author_2age",
        35.0,
    )
    for flt, op in [
        (F("year") < 1, Op.OPERATOR_LESS_THAN),
        (F("year") <= 1, Op.OPERATOR_LESS_THAN_EQUAL),
        (F("year") >= 1, Op.OPERATOR_GREATER_THAN_EQUAL),
    ]:
        assert _proto(flt, ALL).operator == op


def test_string_and_bool_equality() -> None:
    p = _proto(F("lang") == "en", ALL)
    assert (p.operator, p.target.property) == (Op.OPERATOR_CONTAINS_ANY, "ms_lang")
    assert list(p.value_text_array.values) == ["|en|"]
    b = _proto(F("draft") == True, ALL)  # noqa: E712
    assert (b.target.property, list(b.value_boolean_array.values)) == ("mb_draft", [True])


def test_in_splits_by_type() -> None:
    p = _proto(F("year").in_([2020, "2020", 2021.0, 2020]), ALL)
    assert p.operator == Op.OPERATOR_OR and len(p.filters) == 2
    num, text = p.filters
    assert (num.operator, num.target.property) == (Op.OPERATOR_CONTAINS_ANY, "mn_year")
    assert list(num.value_number_array.values) == [2020.0, 2021.0]
    assert (text.target.property, list(text.value_text_array.values)) == ("ms_year", ["|2020|"])


def test_in_of_one_type_is_a_single_contains_any() -> None:
    p = _proto(F("lang").in_(["de", "fr"]), ALL)
    assert p.operator == Op.OPERATOR_CONTAINS_ANY and list(p.value_text_array.values) == ["|de|", "|fr|"]


def test_compiles_negation_normal_form() -> None:
    # the store front hands the compiler filters in NNF: Not only over a range or exists
    nnf = to_nnf(~((F("lang") == "en") | (F("year") > 2020)))
    p = _proto(nnf, ALL)
    assert p.operator == Op.OPERATOR_AND
    assert [c.operator for c in p.filters] == [Op.OPERATOR_NOT, Op.OPERATOR_NOT]
    assert [c.filters[0].operator for c in p.filters] == [
        Op.OPERATOR_CONTAINS_ANY,
        Op.OPERATOR_GREATER_THAN,
    ]


def test_negations_use_not() -> None:
    ne = _proto(F("lang") != "en", ALL)
    assert ne.operator == Op.OPERATOR_NOT and ne.filters[0].operator == Op.OPERATOR_CONTAINS_ANY
    nin = _proto(F("lang").nin(["en"]), ALL)
    assert nin.operator == Op.OPERATOR_NOT and nin.filters[0].operator == Op.OPERATOR_CONTAINS_ANY
    flt = parse_filter({"$not": {"year": {"$gt": 1}}})
    assert flt is not None
    assert _proto(flt, ALL).operator == Op.OPERATOR_NOT


def test_exists_reads_the_key_list() -> None:
    p = _proto(F("author.age").exists(), ALL)
    assert (p.operator, p.target.property) == (Op.OPERATOR_CONTAINS_ANY, "vecctx_keys")
    assert list(p.value_text_array.values) == [key_token("author.age")]
    missing = _proto(F("author.age").missing(), ALL)
    assert missing.operator == Op.OPERATOR_NOT


def test_and_or_nesting() -> None:
    flt = ((F("lang") == "en") | (F("lang") == "de")) & ~(F("draft") == True)  # noqa: E712
    p = _proto(flt, ALL)
    assert p.operator == Op.OPERATOR_AND
    assert [c.operator for c in p.filters] == [Op.OPERATOR_OR, Op.OPERATOR_NOT]


def test_unknown_properties_fold_to_constants() -> None:
    c = FilterCompiler(ALL, native_not=True)
    assert c.compile(F("lang") == 5) is False  # no number was ever stored under lang
    assert c.compile(F("lang") != 5) is True
    assert c.compile(F("lang") > 5) is False
    assert c.compile(F("ghost").in_([1, "a"])) is False
    assert c.compile(F("ghost").nin([1, "a"])) is True
    fresh = FilterCompiler(ALL, native_not=True)  # records what the class lacked
    fresh.compile((F("lang") == 5) & (F("year") == 1) & F("ghost").in_(["a"]))
    assert fresh.missing == {"mn_lang", "ms_ghost"}
    partial = c.compile((F("ghost") == 1) | (F("lang") == "en"))
    assert not isinstance(partial, bool)
    assert _FilterToGRPC.convert(partial).target.property == "ms_lang"


def test_without_native_not_negations_raise() -> None:
    c = FilterCompiler(ALL, native_not=False)
    for flt in [F("lang") != "en", F("lang").nin(["en"]), ~(F("year") > 1), F("year").missing()]:
        with pytest.raises(UnsupportedFeatureError):
            c.compile(flt)
    # a negation that folds to a constant needs no Not
    assert c.compile(F("ghost") != 1) is True
    assert not isinstance(c.compile((F("year") > 1) & (F("lang") == "en")), bool)
