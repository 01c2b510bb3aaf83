"""Records as columns: a bulk load from arrays without a ``Record`` object per row."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import repeat
from typing import Any, overload

from vecctx.contract.errors import InvalidInputError
from vecctx.contract.types import Metadata, Record, SparseVector


class RecordBatch(Sequence[Record]):
    """Records given column by column: row ``i`` is
    ``Record(ids[i], vectors[i], texts[i], metadata[i], sparse[i])``.

    ``vectors`` is an ``(n, dim)`` array (an embedder's output) or a sequence of ``n`` vectors;
    ``texts``, ``metadata`` and ``sparse`` may be left out (no text, ``{}``, no sparse vector).

    A ``RecordBatch`` *is* a sequence of records, so every store's ``upsert`` takes it and
    validates it exactly as the equivalent list of records (same checks, same errors). What it
    saves is work: no ``Record`` per row, the vectors checked as one matrix, and stores that
    read the columns directly (Qdrant Edge) skip the per-row objects altogether. The columns
    are not copied: do not change them until ``upsert`` returns.

    >>> import numpy as np
    >>> batch = RecordBatch(["a", "b"], np.eye(2, dtype="float32"), texts=["x", "y"])
    >>> len(batch), batch[1].id, batch[1].text
    (2, 'b', 'y')
    """

    __slots__ = ("ids", "metadata", "sparse", "texts", "vectors")

    ids: Sequence[str]
    vectors: Any
    texts: Sequence[str | None] | None
    metadata: Sequence[Metadata] | None
    sparse: Sequence[SparseVector | None] | None

    def __init__(
        self,
        ids: Sequence[str],
        vectors: Any,
        texts: Sequence[str | None] | None = None,
        metadata: Sequence[Metadata] | None = None,
        sparse: Sequence[SparseVector | None] | None = None,
    ) -> None:
        if isinstance(ids, str | bytes):
            raise InvalidInputError("RecordBatch ids must be a sequence of strings, not one string")
        n = _rows(ids, "ids")
        for name, col in (("vectors", vectors), ("texts", texts), ("metadata", metadata), ("sparse", sparse)):
            if col is None:
                if name == "vectors":
                    raise InvalidInputError("RecordBatch needs vectors")
                continue
            if isinstance(col, str | bytes | dict):
                raise InvalidInputError(
                    f"RecordBatch {name} must hold one entry per id, got a {type(col).__name__}"
                )
            if _rows(col, name) != n:
                raise InvalidInputError(
                    f"RecordBatch {name} has {_rows(col, name)} rows but there are {n} ids"
                )
        self.ids = ids
        self.vectors = vectors
        self.texts = texts
        self.metadata = metadata
        self.sparse = sparse

    def __len__(self) -> int:
        return len(self.ids)

    @overload
    def __getitem__(self, i: int) -> Record: ...

    @overload
    def __getitem__(self, i: slice) -> RecordBatch: ...

    def __getitem__(self, i: int | slice) -> Record | RecordBatch:
        if isinstance(i, slice):
            return RecordBatch(
                self.ids[i],
                self.vectors[i],
                None if self.texts is None else self.texts[i],
                None if self.metadata is None else self.metadata[i],
                None if self.sparse is None else self.sparse[i],
            )
        return Record(
            self.ids[i],
            self.vectors[i],
            None if self.texts is None else self.texts[i],
            {} if self.metadata is None else self.metadata[i],
            None if self.sparse is None else self.sparse[i],
        )

    def __iter__(self) -> Iterator[Record]:
        texts, metas, sparse = self.filled()
        if self.metadata is None:  # a fresh dict per record, as ``Record`` gives
            metas = ({} for _ in range(len(self.ids)))
        for rid, vec, text, meta, sp in zip(self.ids, self.vectors, texts, metas, sparse, strict=True):
            yield Record(rid, vec, text, meta, sp)

    def filled(self) -> tuple[Iterable[str | None], Iterable[Metadata], Iterable[SparseVector | None]]:
        """Texts, metadata and sparse vectors, with the defaults where a column was left out
        (an empty metadata mapping is one shared ``{}``: read it, do not change it)."""
        n = len(self.ids)
        return (
            repeat(None, n) if self.texts is None else self.texts,
            repeat({}, n) if self.metadata is None else self.metadata,
            repeat(None, n) if self.sparse is None else self.sparse,
        )

    def __repr__(self) -> str:
        given = [name for name in ("texts", "metadata", "sparse") if getattr(self, name) is not None]
        return f"RecordBatch({len(self)} records, columns: ids, vectors{''.join(', ' + g for g in given)})"


def _rows(col: Any, name: str) -> int:
    try:
        return len(col)
    except TypeError:
        raise InvalidInputError(f"RecordBatch {name} must be a sequence, got {type(col).__name__}") from None


def record_columns(
    records: Sequence[Record], start: int = 0, stop: int | None = None
) -> tuple[Sequence[str], Iterable[str | None], Iterable[Metadata], Iterable[SparseVector | None]]:
    """Ids, texts, metadata and sparse vectors of ``records[start:stop]``, as columns: a
    :class:`RecordBatch`'s own (sliced, defaults filled in; an omitted metadata column is one
    shared ``{}``, to read only), else gathered from the records. For adapters that write
    column by column."""
    stop = len(records) if stop is None else stop
    if type(records) is RecordBatch:
        return (records.ids[start:stop], *records[start:stop].filled())
    chunk = records[start:stop]
    return (
        [r.id for r in chunk],
        [r.text for r in chunk],
        [r.metadata for r in chunk],
        [r.sparse for r in chunk],
    )


__all__ = ["RecordBatch", "record_columns"]
