"""A third-party backend as a driver, proven by vecctx's own conformance suite.

TinyDriver keeps records in dicts and searches by brute force. It implements only the narrow
driver interface (:mod:`vecctx.contract.driver`): the store front vecctx puts over it validates every
argument, parses and checks filters, caches collection specs, pages scrolls, retries and
translates errors, so the driver never sees unchecked input. Run the suite on it::

    python examples/custom_adapter.py      # = pytest on this file
"""

import sys
from collections.abc import Iterator, Sequence

import numpy as np
import pytest

import vecctx
from vecctx import Capabilities, CheckedSearch, CollectionSpec, DriverBase, Filter, Hit, Page, Record, Store
from vecctx.contract.types import FloatArray, Metric, ScoreKind, make_hits
from vecctx.testing import ConformanceSuite


class TinyDriver(DriverBase):
    """Cosine only, dense only, exact search; filters run by vecctx's reference evaluator."""

    capabilities = Capabilities(name="tiny", metrics=frozenset({Metric.COSINE}))
    target = "tiny://"

    def __init__(self) -> None:
        self.data: dict[str, tuple[CollectionSpec, dict[str, Record]]] = {}

    def compile_filter(self, spec: CollectionSpec, flt: Filter) -> Filter:
        return flt  # a real backend translates the tree here (subclass vecctx.contract.compiler.FilterCompiler)

    def collection_spec(self, name: str) -> CollectionSpec | None:
        return self.data[name][0] if name in self.data else None

    def list_collections(self) -> list[str]:
        return list(self.data)

    def create_collection(self, spec: CollectionSpec) -> None:
        self.data[spec.name] = (spec, {})

    def drop_collection(self, name: str) -> bool:
        return self.data.pop(name, None) is not None

    def upsert(self, spec: CollectionSpec, records: Sequence[Record], vectors: FloatArray) -> None:
        rows = self.data[spec.name][1]  # records are valid and vectors is their float32 matrix
        unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        for r, v in zip(records, unit, strict=True):
            rows[r.id] = Record(r.id, v, r.text, dict(r.metadata))

    def get(self, spec: CollectionSpec, ids: Sequence[str], with_vectors: bool) -> list[Record]:
        rows = self.data[spec.name][1]
        return [rows[i] for i in ids if i in rows]

    def _matching(self, spec: CollectionSpec, flt: Filter | None) -> list[Record]:
        return [r for r in self.data[spec.name][1].values() if flt is None or flt.matches(r.metadata)]

    def delete(self, spec: CollectionSpec, ids: Sequence[str] | None, filter: Filter | None) -> None:
        rows = self.data[spec.name][1]
        doomed = set(ids or ()) | (
            {r.id for r in self._matching(spec, filter)} if filter is not None else set()
        )
        for i in doomed:
            rows.pop(i, None)

    def count(self, spec: CollectionSpec, filter: Filter | None) -> int:
        return len(self._matching(spec, filter))

    def scroll(
        self, spec: CollectionSpec, filter: Filter | None, cursor: int | None, limit: int, with_vectors: bool
    ) -> Page:
        rows, start = self._matching(spec, filter), cursor or 0
        return Page(rows[start : start + limit], start + limit if start + limit < len(rows) else None)

    def search(self, spec: CollectionSpec, query: CheckedSearch) -> list[Hit]:
        assert query.vector is not None  # the capabilities declare no sparse search
        q = query.vector / max(float(np.linalg.norm(query.vector)), 1e-12)
        scored = sorted(
            ((float(np.dot(r.vector, q)), r) for r in self._matching(spec, query.filter)),
            key=lambda sr: (-sr[0], sr[1].id),
        )[: query.k]
        rows = [r for _, r in scored]
        payload = query.with_payload
        return make_hits(
            ScoreKind.COSINE,
            [r.id for r in rows],
            [s for s, _ in scored],
            texts=[r.text for r in rows] if payload else None,
            metadata=[dict(r.metadata) for r in rows] if payload else None,
        )


class TestTinyStore(ConformanceSuite):
    @pytest.fixture
    def store(self) -> Iterator[Store]:
        with Store(TinyDriver()) as s:
            yield s


if __name__ == "__main__":
    vecctx.register("tiny", lambda url: TinyDriver())  # vecctx.connect("tiny://") puts the front over it
    assert isinstance(vecctx.connect("tiny://").driver, TinyDriver)  # type: ignore[attr-defined]
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
