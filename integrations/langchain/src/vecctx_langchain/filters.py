"""LangChain's metadata filters, translated into vecctx's one filter language.

LangChain has no single filter syntax: each vector store takes its own, and most take the
Mongo-like dict that ``vecctx.parse_filter`` reads. :func:`to_vecctx_filter` accepts

- a vecctx :class:`~vecctx.Filter` (built with ``vecctx.F``), passed through;
- a dict in vecctx's syntax (``{"lang": "en"}``, ``{"year": {"$gte": 2020}}``, ``$in``, ``$nin``,
  ``$ne``, ``$exists``, ``$and``, ``$or``, ``$not``), plus the Mongo/LangChain spellings
  vecctx's parser does not read itself, rewritten into it first:

  ===========================================  ==============================================
  written                                      rewritten as
  ===========================================  ==============================================
  ``{"$nor": [a, b]}``                         ``{"$not": {"$or": [a, b]}}``
  ``{"k": {"$not": {"$gt": 3}}}`` (per field)  ``{"$not": {"k": {"$gt": 3}}}``
  ``{"k": {"$between": [lo, hi]}}``            ``{"k": {"$gte": lo, "$lte": hi}}``
  tuples where lists are expected             lists
  ===========================================  ==============================================

The result is a vecctx filter tree that each backend compiles into its own query language: the
filter runs in the database, never in Python over fetched results. A callable filter (what
LangChain's ``InMemoryVectorStore`` takes) cannot be sent to a database and raises
``TypeError``; anything else malformed raises :class:`vecctx.InvalidFilterError` (a
``ValueError``) naming the offending node.

:class:`VecctxTranslator` does the same for LangChain's structured query language (the filters
a self-querying retriever's LLM writes).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langchain_core.structured_query import (
    Comparator,
    Comparison,
    Operation,
    Operator,
    StructuredQuery,
    Visitor,
)

from vecctx.contract.errors import InvalidFilterError
from vecctx.contract.filters import Filter, parse_filter


def to_vecctx_filter(spec: Filter | Mapping[str, Any] | None) -> Filter | None:
    """Translate a LangChain/Mongo-like filter dict (or a vecctx ``Filter``) into a vecctx ``Filter``."""
    if spec is None or isinstance(spec, Filter):
        return spec
    if isinstance(spec, Mapping):
        return parse_filter(_rewrite(spec, "$"))
    if callable(spec):
        raise TypeError(
            "vecctx runs filters in the database, so it cannot take a Python callable: "
            "give a dict such as {'lang': 'en', 'year': {'$gte': 2020}} or a vecctx.F expression"
        )
    raise InvalidFilterError(f"a filter must be a dict or a vecctx Filter, got {type(spec).__name__}", "$")


def _rewrite(spec: Mapping[str, Any], path: str) -> dict[str, Any]:
    """A document-level node: logical operators and field conditions."""
    out: dict[str, Any] = {}
    negated: list[dict[str, Any]] = []
    for key, value in spec.items():
        sub = f"{path}.{key}"
        if key in ("$and", "$or", "$nor"):
            kids = _list(value, sub)
            rewritten = [_rewrite(_mapping(v, f"{sub}[{i}]"), f"{sub}[{i}]") for i, v in enumerate(kids)]
            if key == "$nor":
                negated.append({"$or": rewritten})
            else:
                out[key] = rewritten
        elif key == "$not":
            out[key] = _rewrite(_mapping(value, sub), sub)
        elif isinstance(key, str) and not key.startswith("$") and isinstance(value, Mapping):
            ops, field_negated = _rewrite_ops(key, value, sub)
            if ops:
                out[key] = ops
            negated.extend({key: n} for n in field_negated)
        else:
            out[key] = value  # scalars and unknown operators: vecctx's parser judges them
    if not negated:
        return out
    parts: list[dict[str, Any]] = [{"$not": n} for n in negated]
    if out:
        parts.insert(0, out)
    return parts[0] if len(parts) == 1 else {"$and": parts}


def _rewrite_ops(key: str, ops: Mapping[str, Any], path: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A field's operator object: returns the operators kept and the ``$not`` bodies pulled out."""
    kept: dict[str, Any] = {}
    negated: list[dict[str, Any]] = []
    for op, operand in ops.items():
        sub = f"{path}.{op}"
        if op == "$not":
            inner = _mapping(operand, sub)
            body, deeper = _rewrite_ops(key, inner, sub)
            if deeper:
                raise InvalidFilterError("nested $not inside a field's $not is not supported", sub)
            negated.append(body)
        elif op == "$between":
            bounds = _list(operand, sub)
            if len(bounds) != 2:
                raise InvalidFilterError("$between needs [low, high]", sub)
            for bound_op, bound in (("$gte", bounds[0]), ("$lte", bounds[1])):
                if bound_op in kept:
                    raise InvalidFilterError(f"$between and {bound_op} on the same field", sub)
                kept[bound_op] = bound
        elif op in ("$in", "$nin") and isinstance(operand, tuple):
            kept[op] = list(operand)
        else:
            kept[op] = operand
    return kept, negated


class VecctxTranslator(Visitor):
    """Translates LangChain's structured query language (what a self-querying retriever's
    LLM writes) into a vecctx filter: pass it as ``structured_query_translator``.

    ``contain`` and ``like`` (substring and pattern matches) have no vecctx equivalent and are
    refused; so are date values (vecctx has no date type: store epoch numbers to compare)."""

    allowed_comparators = (
        Comparator.EQ,
        Comparator.NE,
        Comparator.GT,
        Comparator.GTE,
        Comparator.LT,
        Comparator.LTE,
        Comparator.IN,
        Comparator.NIN,
    )
    allowed_operators = (Operator.AND, Operator.OR, Operator.NOT)

    def visit_operation(self, operation: Operation) -> dict[str, Any]:
        self._validate_func(operation.operator)
        args = [arg.accept(self) for arg in operation.arguments]
        if operation.operator is Operator.NOT:
            if len(args) != 1:
                raise InvalidFilterError(f"not takes one argument, got {len(args)}", "$")
            return {"$not": args[0]}
        return {f"${operation.operator.value}": args}

    def visit_comparison(self, comparison: Comparison) -> dict[str, Any]:
        self._validate_func(comparison.comparator)
        value = comparison.value
        if isinstance(value, Mapping) and value.get("type") in ("date", "datetime"):
            raise InvalidFilterError(
                f"{comparison.attribute}: vecctx has no date type; store dates as epoch numbers "
                "to compare them, or as ISO strings to match them exactly",
                "$",
            )
        if comparison.comparator in (Comparator.IN, Comparator.NIN) and not isinstance(value, list):
            value = list(value) if isinstance(value, tuple) else [value]
        return {comparison.attribute: {f"${comparison.comparator.value}": value}}

    def visit_structured_query(self, structured_query: StructuredQuery) -> tuple[str, dict[str, Any]]:
        if structured_query.filter is None:
            return structured_query.query, {}
        return structured_query.query, {"filter": to_vecctx_filter(structured_query.filter.accept(self))}


def _list(value: Any, path: str) -> list[Any]:
    if isinstance(value, list | tuple):
        return list(value)
    raise InvalidFilterError(f"expected a list, got {value!r}", path)


def _mapping(value: Any, path: str) -> Mapping[str, Any]:
    if isinstance(value, Mapping):
        return value
    raise InvalidFilterError(f"expected an object, got {value!r}", path)


__all__ = ["VecctxTranslator", "to_vecctx_filter"]
