"""Dates and times in metadata and filters: one encoding, applied by the front for every backend.

A metadata field holds dates when the collection declares it ``FieldType.DATETIME`` in
``CollectionSpec.indexed_fields``. Its values may be timezone-aware :class:`~datetime.datetime`
objects or ISO 8601 strings (``"2024-05-01T12:00:00+02:00"``; a date alone, ``"2024-05-01"``,
is midnight UTC), or lists of them. The front stores each as an integer: microseconds since
1970-01-01T00:00Z, which every backend stores and orders exactly, and gives them back as aware
UTC datetimes in every record and hit it returns. A naive datetime (or an ISO string without a
timezone) is refused, as is a datetime in a field that is not declared a date.

Filter operands on a declared date field (aware datetimes, ``{"$date": ...}`` in the dict
syntax, or ISO 8601 strings) are encoded the same way before the backend compiles the filter,
so ``F("published") >= datetime(2024, 1, 1, tzinfo=timezone.utc)`` compares instants on every
backend: ``12:00+02:00`` and ``10:00Z`` are the same value.

Stored instants lie within ``2**53`` microseconds of 1970 (1684-07-28 to 2255-06-05, UTC), the
range every backend's numbers hold exactly; operands beyond it compare as its bounds (which
no stored value equals), so ``F(k) < datetime.max.replace(tzinfo=timezone.utc)`` still means
"any date".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from vecctx.contract.batch import RecordBatch
from vecctx.contract.errors import InvalidFilterError, InvalidInputError
from vecctx.contract.filters import (
    EPOCH,
    And,
    Cmp,
    Filter,
    In,
    Instant,
    Not,
    Or,
    Scalar,
    micros,
    parse_instant,
)
from vecctx.contract.types import CollectionSpec, FieldType, Hit, Record

#: Stored instants are at most this many microseconds from 1970 (either way).
MAX_MICROS = 2**53 - 1
_MICRO = timedelta(microseconds=1)


def date_fields(spec: CollectionSpec) -> tuple[str, ...]:
    """The keys ``spec`` declares ``FieldType.DATETIME`` (usually none)."""
    return tuple(k for k, t in spec.indexed_fields.items() if t is FieldType.DATETIME)


def instant(value: int) -> datetime:
    """The aware UTC datetime ``value`` microseconds after 1970-01-01T00:00Z."""
    return EPOCH + value * _MICRO


# -- records ------------------------------------------------------------------------------


def encode_records(records: Sequence[Record], fields: tuple[str, ...]) -> Sequence[Record]:
    """``records`` with every value of the date ``fields`` encoded (new records; the caller's
    are untouched). Raises ``InvalidInputError`` for a value that names no instant. Anything
    that is not a sequence of records with mapping metadata is left for the validator."""
    if not fields or isinstance(records, Record) or not isinstance(records, Sequence):
        return records
    if type(records) is RecordBatch:
        metas = records.metadata
        if metas is None:
            return records
        encoded = [_encode_metadata(records.ids[i], m, fields) for i, m in enumerate(metas)]
        return RecordBatch(records.ids, records.vectors, records.texts, encoded, records.sparse)
    out: list[Any] = []
    for r in records:
        if isinstance(r, Record) and isinstance(r.metadata, Mapping):
            r = Record(r.id, r.vector, r.text, _encode_metadata(r.id, r.metadata, fields), r.sparse)
        out.append(r)
    return out


def _encode_metadata(rid: Any, metadata: Any, fields: tuple[str, ...]) -> Any:
    if not isinstance(metadata, Mapping):
        return metadata
    for key in fields:
        metadata = _replace(metadata, key.split("."), lambda v, key=key: _encode_value(rid, key, v))
    return metadata


def _replace(obj: Mapping[str, Any], parts: list[str], change: Any) -> Mapping[str, Any]:
    """``obj`` with the value at the path ``parts`` changed by ``change`` (copied along the
    path; ``obj`` itself when the path is absent)."""
    head = parts[0]
    if head not in obj:
        return obj
    value = obj[head]
    if len(parts) > 1:
        if not isinstance(value, Mapping):
            return obj
        new = _replace(value, parts[1:], change)
    else:
        new = change(value)
    if new is value:
        return obj
    out = dict(obj)
    out[head] = new
    return out


def _encode_value(rid: Any, key: str, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, list | tuple):
        return [_encode_value(rid, key, v) for v in value]
    where = f"record {rid!r}: metadata {key!r} is declared FieldType.DATETIME"
    if isinstance(value, datetime):
        if value.utcoffset() is None:
            raise InvalidInputError(
                f"{where} and holds the naive datetime {value.isoformat()!r}: give it a timezone, "
                "e.g. datetime(..., tzinfo=timezone.utc)"
            )
        when = value
    elif isinstance(value, str):
        found = parse_instant(value)
        if found is None:
            raise InvalidInputError(
                f"{where} and holds {value!r}, not an ISO 8601 date, or date and time with a "
                "timezone (e.g. '2024-05-01T12:00:00+00:00')"
            )
        when = found
    else:
        what = "a date, not a datetime" if isinstance(value, date) else f"a {type(value).__name__}"
        raise InvalidInputError(
            f"{where} and holds {value!r}, {what}: give a timezone-aware datetime or an ISO 8601 string"
        )
    n = micros(when)
    if not -MAX_MICROS <= n <= MAX_MICROS:
        raise InvalidInputError(
            f"{where} and holds {value!r}, outside the dates vecctx stores "
            f"({instant(-MAX_MICROS).isoformat()} to {instant(MAX_MICROS).isoformat()})"
        )
    return n


def decode_metadata(metadata: Mapping[str, Any], fields: tuple[str, ...]) -> Mapping[str, Any]:
    """``metadata`` as stored, with the date ``fields`` back as aware UTC datetimes."""
    for key in fields:
        metadata = _replace(metadata, key.split("."), _decode_value)
    return metadata


def _decode_value(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode_value(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and -MAX_MICROS <= value <= MAX_MICROS:
        return instant(value)
    return value  # not written by vecctx as a date: as stored


def decode_records(records: list[Record], fields: tuple[str, ...]) -> list[Record]:
    """Copies of ``records`` with their date fields decoded (a driver may hand out the very
    records it stores: they are never changed)."""
    if not fields:
        return records
    return [replace(r, metadata=decode_metadata(r.metadata, fields)) for r in records]


def decode_hits(hits: list[Hit], fields: tuple[str, ...]) -> list[Hit]:
    """Copies of ``hits`` with their date fields decoded (the driver's are never changed)."""
    if not fields:
        return hits
    return [
        h if h.metadata is None else replace(h, metadata=decode_metadata(h.metadata, fields)) for h in hits
    ]


# -- filters ------------------------------------------------------------------------------


def bind_filter(flt: Filter, fields: tuple[str, ...]) -> Filter:
    """``flt`` with the operands on date ``fields`` encoded as stored. Raises
    ``InvalidFilterError`` for a datetime operand on a key not declared a date, and for an
    operand on a date key that names no instant."""
    if isinstance(flt, And | Or):
        kids = tuple(bind_filter(c, fields) for c in flt.children)
        return flt if all(a is b for a, b in zip(kids, flt.children, strict=True)) else type(flt)(kids)
    if isinstance(flt, Not):
        kid = bind_filter(flt.child, fields)
        return flt if kid is flt.child else Not(kid)
    if isinstance(flt, Cmp):
        if flt.key in fields:
            return Cmp(flt.key, flt.cmp, _encode_operand(flt.key, flt.value))
        _undeclared(flt.key, (flt.value,))
    elif isinstance(flt, In):
        if flt.key in fields:
            return In(flt.key, tuple(_encode_operand(flt.key, v) for v in flt.values), flt.negate)
        _undeclared(flt.key, flt.values)
    return flt


def _undeclared(key: str, values: tuple[Scalar, ...]) -> None:
    if any(isinstance(v, Instant) for v in values):
        raise InvalidFilterError(
            f"key {key!r} is compared with a datetime but the collection does not declare it a date: "
            f"create the collection with indexed_fields={{{key!r}: FieldType.DATETIME}}",
            f"$.{key}",
        )


def _encode_operand(key: str, value: Scalar) -> int:
    if isinstance(value, Instant):
        n = int(value)
    elif isinstance(value, str) and (when := parse_instant(value)) is not None:
        n = micros(when)
    else:
        raise InvalidFilterError(
            f"key {key!r} is declared FieldType.DATETIME: compare it with a timezone-aware datetime "
            f"or an ISO 8601 string, not {value!r}",
            f"$.{key}",
        )
    return max(-(2**53), min(2**53, n))


__all__ = [
    "EPOCH",
    "MAX_MICROS",
    "bind_filter",
    "date_fields",
    "decode_hits",
    "decode_metadata",
    "decode_records",
    "encode_records",
    "instant",
    "micros",
]
