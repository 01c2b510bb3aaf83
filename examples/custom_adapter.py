"""A third-party adapter in about 50 lines, proven by vecctx's own conformance suite.

TinyStore keeps records in dicts and searches by brute force; vecctx gives it validation,
the filter semantics (``Filter.matches``) and the test suite. Run the suite on it:

    python examples/custom_adapter.py      # = pytest on this file
"""

import sys
from collections.abc import Iterator, Sequence

import numpy as np
import pytest

import vecctx
from vecctx import Capabilities, CollectionSpec, ConfigError, Hit, Record, StoreBase, as_filter
from vecctx.errors import CollectionNotFoundError
from vecctx.testing import ConformanceSuite
from vecctx.types import ScoreKind, relevance_of
from vecctx.validation import validate_ids, validate_records, validate_search


class TinyStore(StoreBase):
    capabilities = Capabilities(name="tiny", metrics=frozenset({vecctx.Metric.COSINE}))

    def __init__(self) -> None:
        self.data: dict[str, tuple[CollectionSpec, dict[str, Record]]] = {}

    def _c(self, name: str) -> tuple[CollectionSpec, dict[str, Record]]:
        self._check_open()
        if name not in self.data:
            raise CollectionNotFoundError(name)
        return self.data[name]

    def create_collection(self, spec: CollectionSpec) -> None:
        if self.has_collection(spec.name):
            raise ConfigError(f"{spec.name} exists")
        self.data[spec.name] = (spec, {})

    def drop_collection(self, name: str, *, missing_ok: bool = False) -> None:
        if self._check_open() or (self.data.pop(name, None) is None and not missing_ok):
            raise CollectionNotFoundError(name)

    def has_collection(self, name: str) -> bool:
        self._check_open()
        return name in self.data

    def list_collections(self) -> list[str]:
        return sorted(self.data)

    def collection_spec(self, name: str) -> CollectionSpec:
        return self._c(name)[0]

    def upsert(self, collection: str, records: Sequence[Record]) -> None:
        spec, rows = self._c(collection)
        m = validate_records(records, spec)  # raises before anything is written
        for r, v in zip(records, m / np.linalg.norm(m, axis=1, keepdims=True), strict=True):
            rows[r.id] = Record(r.id, v, r.text, dict(r.metadata))

    def get(self, collection: str, ids: Sequence[str], *, with_vectors: bool = False) -> list[Record]:
        rows = self._c(collection)[1]
        return [rows[i] for i in validate_ids(ids) if i in rows]

    def delete(self, collection: str, *, ids: Sequence[str] | None = None, filter=None) -> None:  # type: ignore[no-untyped-def]
        rows, flt = self._c(collection)[1], as_filter(filter)
        doomed = set(ids or []) | {i for i, r in rows.items() if flt is not None and flt.matches(r.metadata)}
        for i in doomed:
            rows.pop(i, None)

    def count(self, collection: str, *, filter=None) -> int:  # type: ignore[no-untyped-def]
        return sum(1 for _ in self.scroll(collection, filter=filter))

    def scroll(self, collection: str, *, filter=None, batch_size: int = 256, with_vectors: bool = False) -> Iterator[Record]:  # type: ignore[no-untyped-def]
        rows, flt = self._c(collection)[1], as_filter(filter)
        return iter([r for r in rows.values() if flt is None or flt.matches(r.metadata)])

    def optimize(self, collection: str) -> None:
        self._c(collection)

    def search(self, collection: str, *, vector=None, sparse=None, filter=None, k: int = 10, params=None,  # type: ignore[no-untyped-def]
               fusion=None, with_payload: bool = True, with_vectors: bool = False) -> list[Hit]:
        spec, _ = self._c(collection)
        q, flt, _ = validate_search(spec, vector=vector, sparse=sparse, filter=filter, k=k, params=params)
        assert q is not None
        scored = [(float(np.dot(r.vector, q / np.linalg.norm(q))), r) for r in self.scroll(collection, filter=flt)]
        scored.sort(key=lambda sr: (-sr[0], sr[1].id))
        return [Hit(r.id, s, relevance_of(ScoreKind.COSINE, s), ScoreKind.COSINE,
                    r.text if with_payload else None, r.metadata if with_payload else None) for s, r in scored[:k]]


class TestTinyStore(ConformanceSuite):
    @pytest.fixture
    def store(self) -> Iterator[TinyStore]:
        with TinyStore() as s:
            yield s


if __name__ == "__main__":
    vecctx.register("tiny", lambda url: TinyStore())  # now vecctx.connect("tiny://") opens it
    assert isinstance(vecctx.connect("tiny://"), TinyStore)
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
