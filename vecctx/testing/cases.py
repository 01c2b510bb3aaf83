"""Filter cases every adapter must answer exactly like the reference evaluator."""

from __future__ import annotations

from vecctx.contract.filters import F, Filter, parse_filter


def _p(spec: dict[str, object]) -> Filter:
    flt = parse_filter(spec)
    assert flt is not None
    return flt


#: (name, filter) over :data:`vecctx.testing.data.FLAT_METADATA`; together they use every operator.
FLAT_CASES: list[tuple[str, Filter]] = [
    ("eq_str", F("lang") == "en"),
    ("eq_str_case", F("lang") == "EN"),
    ("eq_int", F("year") == 2020),
    ("eq_int_matches_float", F("score") == 1),
    ("eq_float", F("score") == 2.25),
    ("eq_float_matches_int", F("year") == 2019.0),
    ("eq_bool_true", F("draft") == True),  # noqa: E712
    ("eq_bool_false", F("draft") == False),  # noqa: E712
    ("eq_str_not_bool", F("lang") == "true"),
    ("eq_int_not_bool", F("score") == 0),
    ("eq_hostile", F("title") == "it's a 'test' \\ with ) or (1==1"),
    ("eq_quoted", F("title") == 'gamma "quoted"'),
    ("eq_unicode", F("title") == "ünïcødé ✓"),
    ("ne_str_matches_missing", F("lang") != "en"),
    ("ne_int", F("year") != 2020),
    ("ne_bool", F("draft") != True),  # noqa: E712
    ("lt", F("year") < 2020),
    ("lte", F("year") <= 2020),
    ("gt_float", F("score") > 0.5),
    ("gte_float_bound", F("year") >= 2022.5),
    ("range_negative", F("score") < 0),
    ("range_float_operand_vs_int", F("year") >= 2019.5),
    ("range_float_upper", F("year") < 2020.5),
    ("range_float_between_ints", F("score") > 1.25),
    ("eq_float_not_truncated", F("score") == 0.5),
    ("eq_float_no_int_match", F("year") == 2020.5),
    ("in_float", F("year").in_([2022.5, 2019.5])),
    ("between", F("year").between(2019, 2021)),
    ("in_str", F("lang").in_(["de", "fr"])),
    ("in_int", F("year").in_([2019, 2023, 1])),
    ("in_mixed", F("year").in_([2020, "2020"])),
    ("nin_str_matches_missing", F("lang").nin(["en", "de"])),
    ("nin_int", F("year").nin([2020, 2021])),
    ("exists", F("draft").exists()),
    ("not_exists", F("title").missing()),
    ("and", (F("lang") == "en") & (F("year") >= 2020)),
    ("or", (F("lang") == "fr") | (F("score") > 2)),
    ("not_eq", ~(F("lang") == "de")),
    ("not_range", ~(F("year") > 2020)),
    ("not_and", ~((F("lang") == "en") & F("draft").exists())),
    ("nested_bool", ((F("lang") == "en") | (F("lang") == "de")) & ~(F("draft") == True)),  # noqa: E712
    ("or_of_ands", ((F("year") < 2020) & (F("score") >= 0)) | ((F("year") > 2022) & F("title").exists())),
    ("dict_syntax", _p({"year": {"$gte": 2020, "$lt": 2024}, "$or": [{"lang": "en"}, {"lang": "de"}]})),
    ("dict_not", _p({"$not": {"lang": {"$in": ["en", "de"]}}})),
    ("dict_exists_false", _p({"score": {"$exists": False}})),
]

#: Over :data:`vecctx.testing.data.NESTED_METADATA` (backends with ``nested_keys``).
NESTED_CASES: list[tuple[str, Filter]] = [
    ("nested_eq", F("author.name") == "ann"),
    ("nested_range", F("author.age") > 35),
    ("nested_ne", F("author.name") != "ann"),
    ("nested_exists", F("author.age").exists()),
    ("nested_deep", F("author.org.name") == "acme"),
    ("nested_missing", F("author.name").missing()),
    ("nested_in", F("author.name").in_(["bob", "cy"])),
]

#: Over :data:`vecctx.testing.data.LIST_METADATA` (backends with ``list_values``).
LIST_CASES: list[tuple[str, Filter]] = [
    ("list_eq_any", F("tags") == "a"),
    ("list_in_any", F("tags").in_(["b", "c"])),
    ("list_ne_none", F("tags") != "a"),
    ("list_nin", F("tags").nin(["a"])),
    ("list_exists_nonempty", F("tags").exists()),
    ("list_range_any", F("nums") > 9),
    ("list_eq_num", F("nums") == 2),
]

__all__ = ["FLAT_CASES", "LIST_CASES", "NESTED_CASES"]
