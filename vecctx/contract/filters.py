"""The typed filter language and its reference semantics.

Build filters with :class:`F`::

    (F("year") >= 2020) & F("lang").in_(["en", "de"]) & ~F("draft").exists()

or parse the same from a JSON/dict syntax with :func:`parse_filter`::

    {"year": {"$gte": 2020}, "lang": {"$in": ["en", "de"]}, "$not": {"draft": {"$exists": true}}}

Python binds ``&`` tighter than ``>=``: write comparisons in parentheses. A bare value on
the left of ``&``/``|`` raises :class:`~vecctx.contract.errors.InvalidFilterError` saying so.

Semantics, defined once here by :meth:`Filter.matches` and followed by every adapter:

* Keys are dotted paths into nested objects (``"author.name"``). A key that is absent, or
  whose value is ``null``, is *missing*. Paths do not descend into lists.
* ``eq``/``in``: true when the value (or, for a list value, any element) equals the
  operand. Numbers compare numerically (``1 == 1.0``); booleans are not numbers; strings
  compare exactly. A type mismatch is simply not equal (never an error).
* ``lt``/``lte``/``gt``/``gte``: operands must be numbers; true when the value (or any
  list element) is a number in range. Strings, booleans and missing fields never match.
* ``ne`` is exactly ``not eq`` and ``nin`` is exactly ``not in``: both match records where
  the field is missing. Use ``F(k).exists() & (F(k) != v)`` to require presence.
* ``exists``: the key is present, not ``null``, and not an empty list.
* Dates and times: an operand may be a timezone-aware :class:`~datetime.datetime` (in the
  dict syntax ``{"$date": "<ISO 8601>"}``; a date alone is midnight UTC); a naive one is
  refused. It equals, and orders against, aware datetime values only, as instants
  (``12:00+02:00`` is ``10:00Z``); ranges take numbers or datetimes. The tree holds it as an
  :class:`Instant` (an int: its microseconds since 1970 UTC). In a store, the field must be
  declared ``FieldType.DATETIME`` in the collection's ``indexed_fields``, and the front stores
  and compares dates as those integers (see :mod:`vecctx.contract.dates`).
* Empty lists: ``F(k).in_([])`` matches nothing and ``F(k).nin([])`` matches everything.
* ``None`` means *missing*: ``F(k) == None`` is ``F(k).missing()``, ``F(k) != None`` is
  ``F(k).exists()``; ``F(k).in_([v, None])`` is ``F(k).in_([v]) | F(k).missing()`` and
  ``F(k).nin([v, None])`` is ``F(k).nin([v]) & F(k).exists()`` (the same for ``null`` in the
  dict syntax).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any, ClassVar, NoReturn, TypeAlias

from vecctx.contract.errors import InvalidFilterError

Scalar: TypeAlias = str | int | float | bool
"""A value a comparison holds (a datetime operand is held as an :class:`Instant`, an int)."""
Operand: TypeAlias = Scalar | datetime
"""A value a filter may be built with: a scalar or a timezone-aware datetime."""

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)


def micros(when: datetime) -> int:
    """``when`` (timezone-aware) as whole microseconds since 1970-01-01T00:00Z."""
    return (when - EPOCH) // _MICRO


class Instant(int):
    """A timezone-aware datetime as a filter operand. The integer is its microseconds since
    1970-01-01T00:00Z (the form the front stores dates in, so a backend compiles it like any
    integer); ``when`` is the datetime as given (what :meth:`Filter.to_dict` writes and what
    :meth:`Filter.matches` compares with datetime values)."""

    when: datetime

    def __new__(cls, when: datetime) -> Instant:
        self = super().__new__(cls, micros(when))
        self.when = when
        return self

    def __repr__(self) -> str:
        return f"Instant({self.when!r})"

    def __reduce__(self) -> tuple[type[Instant], tuple[datetime]]:
        return (Instant, (self.when,))


_MISSING: Any = object()


class Op(StrEnum):
    EQ = "$eq"
    NE = "$ne"
    LT = "$lt"
    LTE = "$lte"
    GT = "$gt"
    GTE = "$gte"
    IN = "$in"
    NIN = "$nin"
    EXISTS = "$exists"
    AND = "$and"
    OR = "$or"
    NOT = "$not"


RANGE_OPS = frozenset({Op.LT, Op.LTE, Op.GT, Op.GTE})
ALL_OPS = frozenset(Op)


MAX_FILTER_DEPTH = 32
"""How deeply ``$and``, ``$or`` and ``$not`` may nest (a comparison alone is depth 0). A deeper
filter is refused with :class:`~vecctx.contract.errors.InvalidFilterError` when it is built or
parsed, before any I/O: every backend answers a filter this deep (Chroma refuses 64 levels, and
deeper trees exhaust Python's recursion in clients and in vecctx's own walks)."""


class Filter:
    """Base of the immutable filter tree."""

    __slots__ = ()

    @property
    def depth(self) -> int:
        """How many levels of ``$and`` / ``$or`` / ``$not`` stand above the deepest comparison."""
        return 0

    def __and__(self, other: object) -> Filter:
        return _join(And, self, other)

    def __or__(self, other: object) -> Filter:
        return _join(Or, self, other)

    def __rand__(self, other: object) -> NoReturn:
        _precedence_error(other)

    def __ror__(self, other: object) -> NoReturn:
        _precedence_error(other)

    def __invert__(self) -> Filter:
        if isinstance(self, Not):
            return self.child
        return Not(self)

    def __bool__(self) -> bool:
        raise InvalidFilterError(
            "a filter has no truth value: use & | ~ rather than and/or/not, and parenthesise comparisons"
        )

    # -- semantics -------------------------------------------------------------------
    def matches(self, metadata: Mapping[str, Any]) -> bool:
        """The reference semantics: does a record with this metadata match?"""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """The JSON/dict form, which :func:`parse_filter` reads back."""
        raise NotImplementedError

    def keys(self) -> frozenset[str]:
        """Every metadata key the filter reads."""
        return frozenset(n.key for n in self.walk() if isinstance(n, (Cmp, In, Exists)))

    def ops(self) -> frozenset[Op]:
        """Every operator the filter uses (what an adapter must be able to compile)."""
        out: set[Op] = set()
        for n in self.walk():
            out.add(n.op)
        return frozenset(out)

    def walk(self) -> Iterator[Cmp | In | Exists | And | Or | Not]:
        raise NotImplementedError

    @property
    def op(self) -> Op:
        raise NotImplementedError


def _join(kind: type[And | Or], left: Filter, right: object) -> Filter:
    """``left`` and ``right`` under one ``kind`` node; a ``kind`` node among them is flattened."""
    if not isinstance(right, Filter):
        _precedence_error(right)
    return kind(tuple(c for f in (left, right) for c in (f.children if isinstance(f, kind) else (f,))))


def _precedence_error(other: object) -> NoReturn:
    raise InvalidFilterError(
        f"cannot combine {other!r} with a filter: Python binds & and | tighter than "
        "comparisons: put comparisons in parentheses, e.g. (F('year') >= 2020) & (...)"
    )


def _lookup(metadata: Mapping[str, Any], key: str) -> Any:
    cur: Any = metadata
    for part in key.split("."):
        if not isinstance(cur, Mapping):
            return _MISSING
        cur = cur.get(part, _MISSING)
        if cur is _MISSING:
            return _MISSING
    return _MISSING if cur is None else cur


def _elements(value: Any) -> Sequence[Any]:
    if isinstance(value, list | tuple):
        return value
    return (value,)


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _is_instant(x: Any) -> bool:
    return isinstance(x, datetime) and x.utcoffset() is not None


def _kind(x: Any) -> tuple[str, Any] | None:
    """What :func:`_equal` compares ``x`` as, hashable: equal values of one kind are equal keys
    (``1`` and ``1.0`` alike; ``True`` apart from ``1``; datetimes as instants); ``None`` for a
    value nothing equals."""
    if isinstance(x, bool):
        return ("bool", x)
    if isinstance(x, str):
        return ("str", x)
    if isinstance(x, Instant):
        return ("instant", x.when)
    if _is_number(x):
        return ("number", x)
    if _is_instant(x):
        return ("instant", x)
    return None


def _equal(a: Any, b: Scalar) -> bool:
    if isinstance(b, bool):
        return isinstance(a, bool) and a is b
    if isinstance(b, str):
        return isinstance(a, str) and a == b
    if isinstance(b, Instant):
        return _is_instant(a) and a == b.when
    return _is_number(a) and a == b


def _ordered(a: Any, b: Scalar) -> tuple[Any, Any] | None:
    """The pair a range operator orders for value ``a`` and operand ``b`` (numbers with
    numbers, aware datetimes with datetimes), or ``None`` when it does not."""
    if isinstance(b, Instant):
        return (a, b.when) if _is_instant(a) else None
    return (a, b) if _is_number(a) else None


def _check_scalar(value: Any, path: str) -> Scalar:
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise InvalidFilterError(f"value {value!r} is not finite", path)
        return value
    if isinstance(value, datetime):
        if value.utcoffset() is None:
            raise InvalidFilterError(
                f"datetime {value.isoformat()!r} is naive: give it a timezone, "
                "e.g. datetime(..., tzinfo=timezone.utc)",
                path,
            )
        return Instant(value)
    if isinstance(value, date):
        raise InvalidFilterError(
            f"value {value!r} is a date, not a datetime: give a timezone-aware datetime, "
            "e.g. datetime(y, m, d, tzinfo=timezone.utc)",
            path,
        )
    raise InvalidFilterError(
        f"value {value!r} of type {type(value).__name__} is not a string, number, bool or "
        "timezone-aware datetime",
        path,
    )


def _operand_dict(value: Scalar) -> Any:
    """``value`` in the dict syntax (a datetime as ``{"$date": ISO 8601}``)."""
    return {"$date": value.when.isoformat()} if isinstance(value, Instant) else value


def parse_instant(text: str) -> datetime | None:
    """The instant an ISO 8601 string names (a date alone is midnight UTC), or ``None`` when it
    names no instant (not ISO 8601, or a date and time without a timezone)."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        pass
    else:
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.utcoffset() is not None else None


def _check_key(key: Any, path: str) -> str:
    if not isinstance(key, str) or not key:
        raise InvalidFilterError(f"key {key!r} must be a non-empty string", path)
    if key.startswith("$") or any(not part for part in key.split(".")):
        raise InvalidFilterError(f"key {key!r} is not a valid dotted path", path)
    return key


@dataclass(frozen=True, slots=True)
class Cmp(Filter):
    """``key <op> value`` for eq, ne, lt, lte, gt, gte."""

    key: str
    cmp: Op
    value: Scalar
    """The operand; a datetime given is held as an :class:`Instant`."""

    def __post_init__(self) -> None:
        _check_key(self.key, f"$.{self.key}")
        if self.cmp not in (Op.EQ, Op.NE) and self.cmp not in RANGE_OPS:
            raise InvalidFilterError(f"{self.cmp} is not a comparison", f"$.{self.key}")
        object.__setattr__(self, "value", _check_scalar(self.value, f"$.{self.key}.{self.cmp}"))
        if self.cmp in RANGE_OPS and not _is_number(self.value):
            raise InvalidFilterError(
                f"range operator {self.cmp} needs a number or a timezone-aware datetime, got {self.value!r}",
                f"$.{self.key}.{self.cmp}",
            )

    @property
    def op(self) -> Op:
        return self.cmp

    def matches(self, metadata: Mapping[str, Any]) -> bool:
        found = _lookup(metadata, self.key)
        if self.cmp is Op.NE:
            return found is _MISSING or not any(_equal(e, self.value) for e in _elements(found))
        if found is _MISSING:
            return False
        if self.cmp is Op.EQ:
            return any(_equal(e, self.value) for e in _elements(found))
        for element in _elements(found):
            pair = _ordered(element, self.value)
            if pair is None:
                continue
            e, v = pair
            if (
                (self.cmp is Op.LT and e < v)
                or (self.cmp is Op.LTE and e <= v)
                or (self.cmp is Op.GT and e > v)
                or (self.cmp is Op.GTE and e >= v)
            ):
                return True
        return False

    def to_dict(self) -> dict[str, Any]:
        return {self.key: {self.cmp.value: _operand_dict(self.value)}}

    def walk(self) -> Iterator[Cmp | In | Exists | And | Or | Not]:
        yield self


@dataclass(frozen=True, slots=True)
class In(Filter):
    """``key in values`` (or ``not in`` when ``negate``). With no values, ``in`` matches
    nothing and ``not in`` everything."""

    key: str
    values: tuple[Scalar, ...]
    """The operands; a datetime given is held as an :class:`Instant`."""
    negate: bool = False
    _kinds: frozenset[tuple[str, Any]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        path = f"$.{self.key}.{self.op}"
        _check_key(self.key, f"$.{self.key}")
        if isinstance(self.values, str | bytes) or not isinstance(self.values, Iterable):
            raise InvalidFilterError(f"{self.op} needs a list of values, got {self.values!r}", path)
        values = tuple(_check_scalar(v, f"{path}[{i}]") for i, v in enumerate(self.values))
        object.__setattr__(self, "values", values)
        # one set lookup per element: a 100,000-value list stays linear in the records
        object.__setattr__(self, "_kinds", frozenset(k for k in map(_kind, values) if k is not None))

    @property
    def op(self) -> Op:
        return Op.NIN if self.negate else Op.IN

    def matches(self, metadata: Mapping[str, Any]) -> bool:
        found = _lookup(metadata, self.key)
        hit = found is not _MISSING and any(_kind(e) in self._kinds for e in _elements(found))
        return hit != self.negate

    def to_dict(self) -> dict[str, Any]:
        return {self.key: {self.op.value: [_operand_dict(v) for v in self.values]}}

    def walk(self) -> Iterator[Cmp | In | Exists | And | Or | Not]:
        yield self


@dataclass(frozen=True, slots=True)
class Exists(Filter):
    key: str

    def __post_init__(self) -> None:
        _check_key(self.key, f"$.{self.key}")

    @property
    def op(self) -> Op:
        return Op.EXISTS

    def matches(self, metadata: Mapping[str, Any]) -> bool:
        found = _lookup(metadata, self.key)
        if found is _MISSING:
            return False
        if isinstance(found, list | tuple):
            return any(e is not None for e in found)
        return True

    def to_dict(self) -> dict[str, Any]:
        return {self.key: {"$exists": True}}

    def walk(self) -> Iterator[Cmp | In | Exists | And | Or | Not]:
        yield self


@dataclass(frozen=True, slots=True)
class _Junction(Filter):
    """What :class:`And` and :class:`Or` share: their ``children`` and the walk over them."""

    children: tuple[Filter, ...]
    depth: int = field(init=False, repr=False, compare=False)
    _OP: ClassVar[Op]

    def __post_init__(self) -> None:
        _check_children(self.children, self._OP.value)
        object.__setattr__(self, "depth", _nest(self.children))

    @property
    def op(self) -> Op:
        return self._OP

    def matches(self, metadata: Mapping[str, Any]) -> bool:
        hits = (c.matches(metadata) for c in self.children)
        return all(hits) if self._OP is Op.AND else any(hits)

    def to_dict(self) -> dict[str, Any]:
        return {self._OP.value: [c.to_dict() for c in self.children]}

    def walk(self) -> Iterator[Cmp | In | Exists | And | Or | Not]:
        assert isinstance(self, And | Or)
        yield self
        for c in self.children:
            yield from c.walk()


@dataclass(frozen=True, slots=True)
class And(_Junction):
    """Every child matches."""

    _OP: ClassVar[Op] = Op.AND


@dataclass(frozen=True, slots=True)
class Or(_Junction):
    """At least one child matches."""

    _OP: ClassVar[Op] = Op.OR


@dataclass(frozen=True, slots=True)
class Not(Filter):
    child: Filter
    depth: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.child, Filter):
            raise InvalidFilterError(f"$not needs a filter, got {self.child!r}", "$.$not")
        object.__setattr__(self, "depth", _nest((self.child,)))

    @property
    def op(self) -> Op:
        return Op.NOT

    def matches(self, metadata: Mapping[str, Any]) -> bool:
        return not self.child.matches(metadata)

    def to_dict(self) -> dict[str, Any]:
        return {"$not": self.child.to_dict()}

    def walk(self) -> Iterator[Cmp | In | Exists | And | Or | Not]:
        yield self
        yield from self.child.walk()


def _nest(children: tuple[Filter, ...]) -> int:
    depth = 1 + max(c.depth for c in children)
    if depth > MAX_FILTER_DEPTH:
        raise InvalidFilterError(f"filter nests $and/$or/$not deeper than {MAX_FILTER_DEPTH} levels", "$")
    return depth


def _check_children(children: Any, op: str) -> None:
    if not isinstance(children, tuple) or not children:
        raise InvalidFilterError(f"{op} needs a non-empty tuple of filters", f"$.{op}")
    for i, c in enumerate(children):
        if not isinstance(c, Filter):
            raise InvalidFilterError(f"{c!r} is not a filter", f"$.{op}[{i}]")


def _range(op: Op) -> Callable[[F, float | datetime], Cmp]:
    """The :class:`F` method of a range operator: ``F(key) < value`` and the like."""

    def compare(self: F, value: float | datetime) -> Cmp:
        return Cmp(self.key, op, _check_scalar(value, f"$.{self.key}.{op}"))

    return compare


def _equality(key: str, op: Op, value: Any) -> Filter:
    """``key == value`` (``op`` EQ) or ``key != value`` (NE); ``None`` means missing."""
    if value is None:
        return Not(Exists(key)) if op is Op.EQ else Exists(key)
    return Cmp(key, op, _check_scalar(value, f"$.{key}.{op}"))


def _membership(key: str, values: tuple[Any, ...], negate: bool) -> Filter:
    """``key in values`` (or ``not in``); a ``None`` among the values means missing."""
    path = f"$.{key}.{Op.NIN if negate else Op.IN}"
    rest = tuple(_check_scalar(v, f"{path}[{i}]") for i, v in enumerate(values) if v is not None)
    if len(rest) == len(values):
        return In(key, rest, negate=negate)
    if negate:  # neither missing nor one of the rest
        return In(key, rest, negate=True) & Exists(key) if rest else Exists(key)
    return In(key, rest) | Not(Exists(key)) if rest else Not(Exists(key))


class F:
    """Filter builder for one metadata key (a dotted path)."""

    __slots__ = ("key",)
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, key: str) -> None:
        self.key = _check_key(key, f"$.{key}")

    def __eq__(self, value: object) -> Filter:  # type: ignore[override]
        """``F(k) == v``; ``F(k) == None`` is ``F(k).missing()``."""
        return _equality(self.key, Op.EQ, value)

    def __ne__(self, value: object) -> Filter:  # type: ignore[override]
        """``F(k) != v``; ``F(k) != None`` is ``F(k).exists()``."""
        return _equality(self.key, Op.NE, value)

    __lt__ = _range(Op.LT)
    __le__ = _range(Op.LTE)
    __gt__ = _range(Op.GT)
    __ge__ = _range(Op.GTE)

    def eq(self, value: Operand | None) -> Filter:
        return _equality(self.key, Op.EQ, value)

    def ne(self, value: Operand | None) -> Filter:
        return _equality(self.key, Op.NE, value)

    def between(self, low: float | datetime, high: float | datetime) -> And:
        """Inclusive range, compiled to two comparisons on every backend."""
        return And((_range(Op.GTE)(self, low), _range(Op.LTE)(self, high)))

    def in_(self, values: Sequence[Operand | None]) -> Filter:
        """The value is one of ``values`` (none: matches nothing); ``None`` among them also
        matches records where the key is missing."""
        return _membership(self.key, _as_tuple(values, self.key, Op.IN), negate=False)

    def nin(self, values: Sequence[Operand | None]) -> Filter:
        """The value is none of ``values`` (none: matches everything); ``None`` among them
        also excludes records where the key is missing."""
        return _membership(self.key, _as_tuple(values, self.key, Op.NIN), negate=True)

    def exists(self) -> Exists:
        return Exists(self.key)

    def missing(self) -> Not:
        return Not(Exists(self.key))

    def __repr__(self) -> str:
        return f"F({self.key!r})"


def _as_tuple(values: Any, key: str, op: Op) -> tuple[Any, ...]:
    if isinstance(values, str | bytes) or not isinstance(values, Sequence | set | frozenset):
        raise InvalidFilterError(f"{op} needs a list of values, got {values!r}", f"$.{key}.{op}")
    return tuple(values)


# -- dict syntax -------------------------------------------------------------------------

_FIELD_OPS = {"$eq", "$ne", "$lt", "$lte", "$gt", "$gte", "$in", "$nin", "$exists"}


def parse_filter(spec: Mapping[str, Any] | Filter | None) -> Filter | None:
    """Parse the JSON/dict filter syntax. ``None`` and ``{}`` mean no filter."""
    if spec is None or isinstance(spec, Filter):
        return spec
    if not isinstance(spec, Mapping):
        raise InvalidFilterError(f"a filter must be an object, got {type(spec).__name__}", "$")
    if not spec:
        return None
    return _parse_obj(spec, "$", 0)


def _parse_obj(spec: Any, path: str, depth: int) -> Filter:
    if (
        depth > MAX_FILTER_DEPTH
    ):  # before recursing further: a deep object never reaches the limit of Python's stack
        raise InvalidFilterError(f"filter nests $and/$or/$not deeper than {MAX_FILTER_DEPTH} levels", path)
    if not isinstance(spec, Mapping) or not spec:
        raise InvalidFilterError(f"expected a non-empty object, got {spec!r}", path)
    parts: list[Filter] = []
    for key, value in spec.items():
        if not isinstance(key, str):
            raise InvalidFilterError(f"key {key!r} is not a string", path)
        sub = f"{path}.{key}"
        if key in ("$and", "$or"):
            if not isinstance(value, list) or not value:
                raise InvalidFilterError(f"{key} needs a non-empty list", sub)
            kids = tuple(_parse_obj(v, f"{sub}[{i}]", depth + 1) for i, v in enumerate(value))
            parts.append(And(kids) if key == "$and" else Or(kids))
        elif key == "$not":
            parts.append(Not(_parse_obj(value, sub, depth + 1)))
        elif key.startswith("$"):
            raise InvalidFilterError(f"unknown operator {key!r}", sub)
        else:
            _check_key(key, sub)
            parts.append(_parse_field(key, value, sub))
    return parts[0] if len(parts) == 1 else And(tuple(parts))


def _parse_field(key: str, value: Any, path: str) -> Filter:
    if not isinstance(value, Mapping) or _is_date_operand(value):
        if isinstance(value, list):
            raise InvalidFilterError("a list needs an operator: use {'$in': [...]}", path)
        return _equality(key, Op.EQ, _parse_operand(value, path))
    if not value:
        raise InvalidFilterError("empty operator object", path)
    parts: list[Filter] = []
    for op, operand in value.items():
        sub = f"{path}.{op}"
        if op not in _FIELD_OPS:
            hint = " ({'$date': ...} is an operand: write {'$eq': {'$date': ...}})" if op == "$date" else ""
            raise InvalidFilterError(f"unknown operator {op!r}{hint}", sub)
        if op in ("$in", "$nin"):
            if not isinstance(operand, list):
                raise InvalidFilterError(f"{op} needs a list", sub)
            values = tuple(_parse_operand(v, f"{sub}[{i}]") for i, v in enumerate(operand))
            parts.append(_membership(key, values, negate=op == "$nin"))
        elif op == "$exists":
            if not isinstance(operand, bool):
                raise InvalidFilterError("$exists needs true or false", sub)
            parts.append(Exists(key) if operand else Not(Exists(key)))
        else:
            o = Op(op)
            scalar = _parse_operand(operand, sub)
            if o in (Op.EQ, Op.NE):
                parts.append(_equality(key, o, scalar))
            elif scalar is None or not _is_number(scalar):
                raise InvalidFilterError(f"{op} needs a number or a {{'$date': ...}}, got {operand!r}", sub)
            else:
                parts.append(Cmp(key, o, scalar))
    return parts[0] if len(parts) == 1 else And(tuple(parts))


def _is_date_operand(value: Any) -> bool:
    return isinstance(value, Mapping) and len(value) == 1 and "$date" in value


def _parse_operand(value: Any, path: str) -> Scalar | None:
    """One operand of the dict syntax: a scalar, ``null`` or ``{"$date": "<ISO 8601>"}``."""
    if value is None:
        return None
    if _is_date_operand(value):
        text = value["$date"]
        when = parse_instant(text) if isinstance(text, str) else None
        if when is None:
            raise InvalidFilterError(
                f"$date needs an ISO 8601 date, or date and time with a timezone "
                f"(e.g. '2024-05-01T12:00:00+00:00'), got {text!r}",
                path,
            )
        return Instant(when)
    return _check_scalar(value, path)


def as_filter(value: Filter | Mapping[str, Any] | None) -> Filter | None:
    """Accept a :class:`Filter`, the dict syntax or ``None``."""
    if value is None or isinstance(value, Filter):
        return value
    return parse_filter(value)


def predicate(flt: Filter | None) -> Callable[[Mapping[str, Any]], bool]:
    """A callable applying the reference semantics (matches everything for ``None``)."""
    if flt is None:
        return lambda _m: True
    return flt.matches


__all__ = [
    "ALL_OPS",
    "MAX_FILTER_DEPTH",
    "And",
    "Cmp",
    "Exists",
    "EPOCH",
    "F",
    "Filter",
    "In",
    "Instant",
    "Not",
    "Op",
    "Operand",
    "Or",
    "RANGE_OPS",
    "Scalar",
    "as_filter",
    "micros",
    "parse_filter",
    "parse_instant",
    "predicate",
]
