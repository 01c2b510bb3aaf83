"""LlamaIndex ``MetadataFilters`` translated into vecctx's filter tree (:mod:`vecctx.contract.filters`).

The translation is total for what vecctx can express and refuses the rest with
:class:`UnsupportedFilterError` before any I/O; nothing is filtered in Python after a fetch.

=====================  ==============================================================
LlamaIndex             vecctx
=====================  ==============================================================
``EQ``                 ``F(k) == v`` (a list value matches when any element equals v)
``NE``                 ``F(k) != v`` (matches records missing ``k``, as LlamaIndex does)
``GT GTE LT LTE``      ``F(k) > v`` ... (numbers only)
``IN`` / ``NIN``       ``F(k).in_(vs)`` / ``F(k).nin(vs)``; an empty list matches nothing /
                       everything
``CONTAINS``           ``F(k) == v`` (list membership is vecctx's ``eq`` on a list)
``ANY`` / ``ALL``      ``F(k).in_(vs)`` / ``(F(k) == v1) & (F(k) == v2) ...``
``IS_EMPTY``           ``F(k).missing() | (F(k) == "")`` (absent, null, ``[]`` or ``""``)
``TEXT_MATCH*``        refused: vecctx has no substring operator
``AND`` / ``OR``       ``&`` / ``|``; ``NOT`` is "none of the filters match": ``~(a | b)``
nested filters         translated recursively
=====================  ==============================================================
"""

from __future__ import annotations

import math
from typing import Any

from llama_index.core.vector_stores.types import (
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
)

from vecctx.contract.errors import InvalidFilterError, UnsupportedFeatureError
from vecctx.contract.filters import And, Cmp, Exists, Filter, In, Not, Op, Or


class UnsupportedFilterError(UnsupportedFeatureError, ValueError):
    """A LlamaIndex filter (or query option) that vecctx cannot express.

    It is both a :class:`vecctx.UnsupportedFeatureError` and a :class:`ValueError`, the
    error LlamaIndex's own vector stores raise for filters they cannot compile."""


def _scalar(f: MetadataFilter, value: Any) -> str | int | float | bool:
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise UnsupportedFilterError(f"filter on {f.key!r}: value {value!r} is not finite")
        return value
    raise UnsupportedFilterError(
        f"filter on {f.key!r} with operator {f.operator.name}: value {value!r} must be a string or a "
        f"number, got {type(value).__name__}"
    )


def _number(f: MetadataFilter) -> int | float:
    v = f.value
    if isinstance(v, int | float) and not isinstance(v, bool):
        if isinstance(v, float) and not math.isfinite(v):
            raise UnsupportedFilterError(f"filter on {f.key!r}: value {v!r} is not finite")
        return v
    raise UnsupportedFilterError(
        f"filter on {f.key!r}: {f.operator.name} needs a number in vecctx, got {v!r}; vecctx's range "
        "operators compare numbers only (store dates as numbers, e.g. epoch seconds or 20240131)"
    )


def _values(f: MetadataFilter) -> list[str | int | float | bool]:
    v = f.value
    if not isinstance(v, list):
        raise UnsupportedFilterError(
            f"filter on {f.key!r}: {f.operator.name} needs a list of values, got {v!r}"
        )
    return [_scalar(f, x) for x in v]


def _nothing(key: str) -> Filter:
    """A filter no record matches (``k`` present and missing at once)."""
    return And((Exists(key), Not(Exists(key))))


def _everything(key: str) -> Filter:
    return Or((Exists(key), Not(Exists(key))))


def translate_filter(f: MetadataFilter) -> Filter:
    """One :class:`MetadataFilter` as a vecctx filter."""
    op = f.operator
    key = f.key
    try:
        if op in (FilterOperator.TEXT_MATCH, FilterOperator.TEXT_MATCH_INSENSITIVE):
            raise UnsupportedFilterError(
                f"filter on {key!r}: {op.name} (substring match) cannot be expressed in vecctx's "
                "filter language, which has no substring or full-text operator; filter on exact "
                "values (EQ/IN) or store the tokens you match on as a list and use CONTAINS/ANY"
            )
        if op is FilterOperator.IS_EMPTY:
            return Or((Not(Exists(key)), Cmp(key, Op.EQ, "")))
        if op in (FilterOperator.EQ, FilterOperator.NE, FilterOperator.CONTAINS):
            if f.value is None or isinstance(f.value, list):
                hint = "use IS_EMPTY for null" if f.value is None else "use IN/ANY/ALL for a list"
                raise UnsupportedFilterError(
                    f"filter on {key!r}: {op.name} needs one string or number, got {f.value!r} ({hint})"
                )
            value = _scalar(f, f.value)
            return Cmp(key, Op.NE if op is FilterOperator.NE else Op.EQ, value)
        if op is FilterOperator.GT:
            return Cmp(key, Op.GT, _number(f))
        if op is FilterOperator.GTE:
            return Cmp(key, Op.GTE, _number(f))
        if op is FilterOperator.LT:
            return Cmp(key, Op.LT, _number(f))
        if op is FilterOperator.LTE:
            return Cmp(key, Op.LTE, _number(f))
        if op in (FilterOperator.IN, FilterOperator.ANY):
            values = _values(f)
            return In(key, tuple(values)) if values else _nothing(key)
        if op is FilterOperator.NIN:
            values = _values(f)
            return In(key, tuple(values), negate=True) if values else _everything(key)
        if op is FilterOperator.ALL:
            values = _values(f)
            if not values:
                return _everything(key)
            eqs = tuple(Cmp(key, Op.EQ, v) for v in values)
            return eqs[0] if len(eqs) == 1 else And(eqs)
    except InvalidFilterError as exc:  # e.g. a key vecctx cannot address ("$x", "a..b")
        raise UnsupportedFilterError(f"filter on {key!r}: {exc}") from exc
    raise UnsupportedFilterError(f"filter operator {op!r} is not supported by vecctx")


def translate_filters(filters: MetadataFilters | None) -> Filter | None:
    """``MetadataFilters`` (with nesting and AND/OR/NOT) as one vecctx filter; ``None`` for
    no filter (``None`` or an empty list under AND/OR)."""
    if filters is None:
        return None
    condition = filters.condition or FilterCondition.AND
    children: list[Filter] = []
    for sub in filters.filters:
        if isinstance(sub, MetadataFilters):
            translated = translate_filters(sub)
            if translated is None:  # an empty group is true: it drops out of AND,
                if condition is FilterCondition.OR:  # makes OR true,
                    return None
                if condition is FilterCondition.NOT:  # and makes "none match" false
                    raise UnsupportedFilterError("an empty filter group under NOT matches nothing")
                continue
            children.append(translated)
        else:
            children.append(translate_filter(sub))
    if condition is FilterCondition.NOT:
        # LlamaIndex's NOT: a record matches when none of the filters match.
        if not children:
            return None
        return Not(children[0] if len(children) == 1 else Or(tuple(children)))
    if not children:
        return None
    if len(children) == 1:
        return children[0]
    if condition is FilterCondition.AND:
        return And(tuple(children))
    if condition is FilterCondition.OR:
        return Or(tuple(children))
    raise UnsupportedFilterError(f"filter condition {condition!r} is not supported by vecctx")


def all_of(*parts: Filter | None) -> Filter | None:
    """AND of the given filters, skipping ``None``."""
    present = [p for p in parts if p is not None]
    if not present:
        return None
    return present[0] if len(present) == 1 else And(tuple(present))


__all__ = ["UnsupportedFilterError", "all_of", "translate_filter", "translate_filters"]
