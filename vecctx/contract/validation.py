"""Boundary checks shared by every adapter: a bad batch raises before anything is written."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt

from vecctx.contract.batch import RecordBatch
from vecctx.contract.errors import ConfigError, DimensionMismatchError, InvalidInputError
from vecctx.contract.filters import Filter, as_filter
from vecctx.contract.store import FilterArg, SearchParams
from vecctx.contract.types import CollectionSpec, FloatArray, Record, SparseVector, VectorLike, is_text

#: Largest metadata object accepted per record, in approximate serialised bytes.
MAX_METADATA_BYTES = 64 * 1024
#: Deepest nesting accepted in metadata.
MAX_METADATA_DEPTH = 16
#: Largest k accepted by ``search``.
MAX_K = 10_000


def validate_records(records: Sequence[Record], spec: CollectionSpec) -> FloatArray:
    """Check a whole batch and return its dense vectors as one float32 matrix (n, dim).

    Raises :class:`InvalidInputError` (or :class:`DimensionMismatchError`) naming the first
    offending record; nothing has been written when it does. A :class:`RecordBatch` gives
    the same outcome as the equivalent list of records.

    This runs on every upsert of every backend, so the common case (exact ``Record``
    instances or a ``RecordBatch``, ``str`` ids and texts, flat ``dict`` metadata of scalars)
    takes inlined exact-type fast paths over the columns; anything else, and every failure,
    goes through the precise checks, which decide the outcome and the error message.
    """
    if isinstance(records, Record):
        raise InvalidInputError("upsert takes a sequence of records, not a single record")
    if not isinstance(records, Sequence) or isinstance(records, str | bytes):
        raise InvalidInputError(f"upsert takes a sequence of records, got a {type(records).__name__}")
    n = len(records)
    if n == 0:
        return np.zeros((0, spec.dimension), dtype=np.float32)
    if type(records) is RecordBatch:
        ids: Sequence[Any] = records.ids
        texts, metas, sparses = records.filled()
        _check_rows(ids, texts, metas, sparses, spec, records.__getitem__)
        return _batch_matrix(records, spec.dimension)
    for r in records:
        if type(r) is not Record:  # subclasses and strangers: the precise checks, record by record
            seen: set[str] = set()
            for i, rec in enumerate(records):
                _check_record(i, rec, seen, spec)
            return _finite(_stack([r.vector for r in records], records, spec.dimension), records)
    ids = [r.id for r in records]
    _check_rows(
        ids,
        [r.text for r in records],
        [r.metadata for r in records],
        [r.sparse for r in records],
        spec,
        records.__getitem__,
    )
    return _finite(_stack([r.vector for r in records], records, spec.dimension), records)


def _check_rows(
    ids: Iterable[Any],
    texts: Iterable[Any],
    metas: Iterable[Any],
    sparses: Iterable[Any],
    spec: CollectionSpec,
    row: Callable[[int], Any],
) -> None:
    """The per-record checks over the columns of a batch, in record order; ``row(i)`` gives
    record ``i`` for the precise checks whenever the inlined ones are in doubt."""
    seen: set[str] = set()
    good_keys: set[str] = set()  # exact-str metadata keys that passed the key rules
    longest_key = 0
    # The flat path below assumes scalars one level down are within the depth limit.
    flat_dict: Any = dict if MAX_METADATA_DEPTH >= 1 else None
    for i, (rid, text, meta, sparse) in enumerate(zip(ids, texts, metas, sparses, strict=True)):
        if type(rid) is not str or not rid or rid in seen or not is_text(rid):
            _check_record(i, row(i), seen, spec)
            continue
        seen.add(rid)
        _check_text(rid, text)
        if type(meta) is flat_dict:
            # Flat dict of scalars, inlined. Anything else, or any doubt, breaks out to the
            # precise check below, which decides and words the error.
            str_chars = 0
            for key, value in meta.items():
                if type(key) is not str:
                    break
                if key not in good_keys:
                    if not key or "." in key or key[0] == "$" or not is_text(key):
                        break
                    good_keys.add(key)
                    if len(key) > longest_key:
                        longest_key = len(key)
                t = type(value)
                if t is str:
                    if not is_text(value):
                        break
                    str_chars += len(value)
                elif t is float:
                    if value - value != 0.0:  # NaN or infinite
                        break
                elif t is int:
                    if not -9223372036854775808 <= value <= 9223372036854775807:
                        break
                elif t is not bool and value is not None:
                    break
            else:
                # An upper bound of the size ``_check_json`` computes: each item costs
                # len(key) + 4 plus at most 24, or len(value) + 2 for a string.
                if 2 + len(meta) * (longest_key + 28) + str_chars <= MAX_METADATA_BYTES:
                    if sparse is not None:
                        _check_sparse(rid, sparse, spec)
                    continue
        _check_metadata(rid, meta)
        if sparse is not None:
            _check_sparse(rid, sparse, spec)


def _finite(matrix: FloatArray, records: Sequence[Record]) -> FloatArray:
    # The extremes are finite exactly when every value is (NaN propagates through min and max):
    # two reductions, no temporary array the size of the batch.
    if not (math.isfinite(matrix.min()) and math.isfinite(matrix.max())):
        bad = int(np.nonzero(~np.isfinite(matrix).all(axis=1))[0][0])
        raise InvalidInputError(f"record {records[bad].id!r}: vector holds NaN or infinite values")
    return matrix


def _batch_matrix(batch: RecordBatch, dim: int) -> FloatArray:
    """The vectors of a batch as a float32 matrix: a 2-D array as it is when it already is
    float32 (no copy of the batch: drivers only read it), else converted once; other vectors
    one by one as for records (which words any error)."""
    vecs = batch.vectors
    if type(vecs) is np.ndarray and vecs.shape == (len(batch), dim) and vecs.dtype.kind in _NUMBER_KINDS:
        return _finite(vecs.astype(np.float32, copy=False), batch)
    return _finite(_stack(list(vecs), batch, dim), batch)


def _check_record(i: int, r: Any, seen: set[str], spec: CollectionSpec) -> None:
    """The precise per-record checks (any ``Record`` subclass, odd ids, duplicates)."""
    if not isinstance(r, Record):
        raise InvalidInputError(f"item {i} is a {type(r).__name__}, not a Record")
    rid = r.id
    if not isinstance(rid, str) or not rid or not is_text(rid):
        raise InvalidInputError(f"record {i}: id must be a non-empty string of text, got {rid!r}")
    if rid in seen:
        raise InvalidInputError(f"record {i}: id {rid!r} appears twice in the batch")
    seen.add(rid)
    _check_text(rid, r.text)
    if not isinstance(r.metadata, Mapping):
        raise InvalidInputError(f"record {rid!r}: metadata must be a mapping")
    _check_size(rid, _check_json(r.metadata, f"record {rid!r} metadata", 0))
    if r.sparse is not None:
        _check_sparse(rid, r.sparse, spec)


def _check_text(rid: str, text: Any) -> None:
    if text is not None and not isinstance(text, str):
        raise InvalidInputError(f"record {rid!r}: text must be a string or None")
    if text is not None and not is_text(text):
        raise InvalidInputError(f"record {rid!r}: text holds a lone surrogate (not text)")


def _check_metadata(rid: str, metadata: Any) -> None:
    if not isinstance(metadata, Mapping):
        raise InvalidInputError(f"record {rid!r}: metadata must be a mapping")
    _check_size(rid, _check_json(metadata, f"record {rid!r} metadata", 0))


def _check_size(rid: str, size: int) -> None:
    if size > MAX_METADATA_BYTES:
        raise InvalidInputError(
            f"record {rid!r}: metadata is about {size} bytes, over the {MAX_METADATA_BYTES} limit"
        )


def _check_sparse(rid: str, sparse: SparseVector, spec: CollectionSpec) -> None:
    if not spec.sparse:
        raise InvalidInputError(
            f"record {rid!r} has a sparse vector but collection {spec.name!r} was created without sparse=True"
        )
    validate_sparse(sparse, f"record {rid!r} sparse vector")


#: Vector containers whose shape ``np.asarray`` of the whole batch reports faithfully.
_PLAIN_VECTORS = frozenset({list, tuple, np.ndarray})


def _stack(vecs: list[Any], records: Sequence[Record], dim: int) -> FloatArray:
    """``vecs[i]`` is the vector of ``records[i]`` (named in errors)."""
    if {type(v) for v in vecs} <= _PLAIN_VECTORS:
        # Fast path: convert the whole batch at once. A result of shape (n, dim) means every
        # vector had shape (dim,), so the scan below would have passed and made this very
        # call. Any other outcome (ragged, wrong shape, not numbers, any exception) falls
        # through to the scan, which raises what it always raised, in the same order.
        try:
            matrix: npt.NDArray[Any] | None = np.asarray(vecs)
        except Exception:
            matrix = None
        if matrix is not None and matrix.shape == (len(vecs), dim) and matrix.dtype.kind in _NUMBER_KINDS:
            return matrix.astype(np.float32, copy=False)
    for i, v in enumerate(vecs):
        r = records[i]
        try:
            shape = np.shape(v)
        except ValueError as exc:  # ragged nested lists
            raise InvalidInputError(f"record {r.id!r}: vector must be one-dimensional: {exc}") from exc
        if len(shape) != 1:
            raise InvalidInputError(f"record {r.id!r}: vector must be one-dimensional, got shape {shape}")
        if shape[0] != dim:
            raise DimensionMismatchError(dim, shape[0], f"record {r.id!r} vector")
    return _numbers(vecs, "vectors")


#: numpy kinds of the arrays a vector may be: floats and (unsigned) ints, never booleans,
#: strings, objects, complex numbers or dates.
_NUMBER_KINDS = "fiu"


def _numbers(value: Any, where: str) -> FloatArray:
    """``value`` as a float32 array if numpy reads it as numbers (no coercion of strings or
    booleans), else ``InvalidInputError``."""
    try:
        arr = np.asarray(value)
        if arr.dtype.kind == "O":  # Python objects: numbers only if numpy reads their values as such
            arr = np.asarray(arr.tolist())
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{where} must hold numbers: {exc}") from exc
    if arr.dtype.kind not in _NUMBER_KINDS:
        raise InvalidInputError(f"{where} must hold ints or floats, got {arr.dtype.name} values")
    return arr.astype(np.float32, copy=False)  # beyond float32's range: infinite, refused as such


def validate_vector(vector: VectorLike, dimension: int, where: str = "query vector") -> FloatArray:
    arr = _numbers(vector, where)
    if arr.ndim != 1:
        raise InvalidInputError(f"{where} must be one-dimensional, got shape {arr.shape}")
    if arr.shape[0] != dimension:
        raise DimensionMismatchError(dimension, arr.shape[0], where)
    # A finite dot product proves every value finite (one BLAS call); it overflows only for
    # values near float32's limit, and then the element-wise check decides.
    if not math.isfinite(arr.dot(arr)) and not np.isfinite(arr).all():
        raise InvalidInputError(f"{where} holds NaN or infinite values")
    return arr


def validate_sparse(sparse: SparseVector, where: str = "sparse vector") -> None:
    if not isinstance(sparse, SparseVector):
        raise InvalidInputError(f"{where} must be a SparseVector")
    if len(sparse.indices) != len(sparse.values):
        raise InvalidInputError(f"{where}: indices and values differ in length")
    if len(set(sparse.indices)) != len(sparse.indices):
        raise InvalidInputError(f"{where}: duplicate indices")
    for i, v in zip(sparse.indices, sparse.values, strict=True):
        if not isinstance(i, int) or isinstance(i, bool) or i < 0 or i >= 2**32:
            raise InvalidInputError(f"{where}: index {i!r} is not an unsigned 32-bit int")
        if not isinstance(v, int | float) or not math.isfinite(v):
            raise InvalidInputError(f"{where}: value {v!r} is not a finite number")


def validate_ids(ids: Sequence[str]) -> list[str]:
    if isinstance(ids, str | bytes) or not isinstance(ids, Iterable) or isinstance(ids, Mapping):
        raise InvalidInputError(f"ids must be a sequence of strings, got {type(ids).__name__}")
    out = list(ids)
    for i in out:
        if not isinstance(i, str) or not i or not is_text(i):
            raise InvalidInputError(f"id must be a non-empty string of text, got {i!r}")
    return out


def validate_k(k: int) -> int:
    if not isinstance(k, int) or isinstance(k, bool) or k < 1 or k > MAX_K:
        raise InvalidInputError(f"k must be an int in [1, {MAX_K}], got {k!r}")
    return k


_DEFAULT_PARAMS = SearchParams()


def validate_search(
    spec: CollectionSpec,
    *,
    vector: VectorLike | None,
    sparse: SparseVector | None,
    filter: FilterArg,
    k: int,
    params: SearchParams | None,
) -> tuple[FloatArray | None, Filter | None, SearchParams]:
    """Common checks for a search; returns the query as float32, the parsed filter and params."""
    validate_k(k)
    if vector is None and sparse is None:
        raise InvalidInputError("search needs a dense vector, a sparse vector, or both")
    q = validate_vector(vector, spec.dimension) if vector is not None else None
    if sparse is not None:
        if not spec.sparse:
            raise InvalidInputError(f"collection {spec.name!r} has no sparse vectors")
        validate_sparse(sparse, "sparse query")
    p = params if params is not None else _DEFAULT_PARAMS
    if p.ef is not None and (not isinstance(p.ef, int) or p.ef < 1):
        raise InvalidInputError(f"ef must be a positive int, got {p.ef!r}")
    return q, as_filter(filter), p


_SCALARS = (str, int, float, bool, type(None))


def _check_json(value: Any, where: str, depth: int) -> int:
    """Check that ``value`` is JSON data vecctx can store; return its approximate size."""
    if depth > MAX_METADATA_DEPTH:
        raise InvalidInputError(f"{where}: nested deeper than {MAX_METADATA_DEPTH} levels")
    t = type(value)
    if t is str and is_text(value):  # exact-type fast paths first: this runs for every value of every record
        return len(value) + 2
    if t is bool:
        return 5
    if t is int and -(2**63) <= value < 2**63:
        return 20
    if t is float and math.isfinite(value):
        return 24
    if isinstance(value, str):
        if not is_text(value):
            raise InvalidInputError(f"{where}: {value!r} holds a lone surrogate (not text)")
        return len(value) + 2
    if isinstance(value, bool) or value is None:
        return 5
    if isinstance(value, int):
        if not -(2**63) <= value < 2**63:
            raise InvalidInputError(f"{where}: integer {value} does not fit in 64 bits")
        return 20
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInputError(f"{where}: {value!r} is not a finite number")
        return 24
    if isinstance(value, Mapping):
        size = 2
        for key, item in value.items():
            if not isinstance(key, str) or not key or not is_text(key):
                raise InvalidInputError(f"{where}: key {key!r} must be a non-empty string of text")
            if "." in key or key.startswith("$"):
                raise InvalidInputError(
                    f"{where}: key {key!r} may not contain '.' or start with '$' "
                    "(dots address nested objects in filters)"
                )
            size += len(key) + 4 + _check_json(item, f"{where}.{key}", depth + 1)
        return size
    if isinstance(value, list | tuple):
        return 2 + sum(_check_json(v, f"{where}[]", depth + 1) for v in value)
    if isinstance(value, date):
        raise InvalidInputError(
            f"{where}: {type(value).__name__} value {value!r} is stored only in a field the collection "
            "declares a date: declare this key as FieldType.DATETIME in the CollectionSpec's indexed_fields"
        )
    raise InvalidInputError(f"{where}: {type(value).__name__} value {value!r} is not JSON data")


def check_count(
    value: object,
    name: str,
    *,
    minimum: int = 0,
    error: type[ConfigError] | type[InvalidInputError] = InvalidInputError,
) -> int:
    """``value`` if it is an int (not a bool) of at least ``minimum``, else ``error``."""
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise error(f"{name} must be an int >= {minimum}, got {value!r}")
    return value


__all__ = [
    "check_count",
    "MAX_K",
    "MAX_METADATA_BYTES",
    "validate_ids",
    "validate_k",
    "validate_records",
    "validate_search",
    "validate_sparse",
    "validate_vector",
]
