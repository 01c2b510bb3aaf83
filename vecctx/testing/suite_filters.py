"""Conformance area: filters, compared with the reference evaluator on every shared case."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from vecctx.contract.errors import InvalidFilterError, UnsupportedFeatureError
from vecctx.contract.filters import ALL_OPS, MAX_FILTER_DEPTH, And, F, Filter, Or
from vecctx.contract.store import VectorStore
from vecctx.contract.types import CollectionSpec, FieldType
from vecctx.testing.cases import FLAT_CASES, LIST_CASES, NESTED_CASES
from vecctx.testing.data import FLAT_METADATA, LIST_METADATA, NESTED_METADATA, records_for
from vecctx.testing.suite_base import DIM, SuiteBase, filter_using


class FilterTests(SuiteBase):
    """count, scroll and search under each filter case agree with the reference; an operator
    the backend does not declare is refused before any I/O."""

    @pytest.mark.parametrize(
        ("needs", "metadata", "case", "flt"),
        [(None, FLAT_METADATA, *c) for c in FLAT_CASES]
        + [("nested_keys", NESTED_METADATA, *c) for c in NESTED_CASES]
        + [("list_values", LIST_METADATA, *c) for c in LIST_CASES],
        ids=[f"flat-{c}" for c, _ in FLAT_CASES]
        + [f"nested-{c}" for c, _ in NESTED_CASES]
        + [f"lists-{c}" for c, _ in LIST_CASES],
    )
    def test_filter_case(
        self,
        store: VectorStore,
        collection: str,
        needs: str | None,
        metadata: list[dict[str, Any]],
        case: str,
        flt: Filter,
    ) -> None:
        if needs is not None and not getattr(self.caps(store), needs):
            pytest.skip(f"backend declares {needs}=False")
        ref = self._fill(store, collection, records_for(metadata, DIM))
        self._check_filter(store, collection, ref, flt)

    def test_filter_depth_limit(self, store: VectorStore, collection: str) -> None:
        """A filter nested as deep as the store declares (``max_filter_depth``) is answered like
        the reference; one level deeper, or a far deeper dict, is refused before any I/O."""
        ref = self._fill(store, collection, records_for(FLAT_METADATA, DIM))
        limit = self.caps(store).max_filter_depth
        assert 1 <= limit <= MAX_FILTER_DEPTH
        deepest: Filter = F("year") >= 2020
        for level in range(limit):  # alternating, so no backend can flatten it
            other = F("lang") == "en" if level % 2 else F("draft") == True  # noqa: E712
            deepest = Or((deepest, other)) if level % 2 else And((deepest, other))
        assert deepest.depth == limit
        self._check_filter(store, collection, ref, deepest)
        q = np.ones(DIM, dtype=np.float32)
        far: dict[str, Any] = {"year": 2020}
        for _ in range(10_000):
            far = {"$not": far}
        for deeper in ({"$not": deepest.to_dict()}, far):
            with pytest.raises(InvalidFilterError, match="deep"):
                store.search(collection, vector=q, filter=deeper, k=3)
            with pytest.raises(InvalidFilterError, match="deep"):
                store.count(collection, filter=deeper)
        assert store.count(collection) == len(FLAT_METADATA)

    def test_filter_on_indexed_fields(self, store: VectorStore, collection: str) -> None:
        indexed = {"year": FieldType.FLOAT, "lang": FieldType.KEYWORD, "draft": FieldType.BOOL}
        ref = self._fill(store, collection, records_for(FLAT_METADATA, DIM), indexed=indexed)
        for flt in [
            F("lang") == "en",
            (F("year") >= 2020) & (F("draft") == True),  # noqa: E712
            F("year") == 2020,
            F("lang") != "de",
        ]:
            self._check_filter(store, collection, ref, flt)

    def test_unsupported_operator_raises_before_io(self, store: VectorStore, collection: str) -> None:
        caps = self.caps(store)
        missing = ALL_OPS - caps.filter_ops
        if not missing:
            pytest.skip("backend supports every operator")
        store.create_collection(CollectionSpec(name=collection, dimension=DIM))
        flt = filter_using(sorted(missing)[0])
        with pytest.raises(UnsupportedFeatureError):
            store.search(collection, vector=np.ones(DIM), filter=flt)


__all__ = ["FilterTests"]
