"""Conformance area: filters, compared with the reference evaluator on every shared case."""

from __future__ import annotations

import numpy as np
import pytest

from vecctx.contract.errors import UnsupportedFeatureError
from vecctx.contract.filters import ALL_OPS, F, Filter
from vecctx.contract.store import VectorStore
from vecctx.contract.types import CollectionSpec, FieldType
from vecctx.testing.cases import FLAT_CASES, LIST_CASES, NESTED_CASES
from vecctx.testing.data import FLAT_METADATA, LIST_METADATA, NESTED_METADATA, records_for
from vecctx.testing.suite_base import DIM, SuiteBase, filter_using


class FilterTests(SuiteBase):
    """count, scroll and search under each filter case agree with the reference; an operator
    the backend does not declare is refused before any I/O."""

    @pytest.mark.parametrize(("case", "flt"), FLAT_CASES, ids=[c for c, _ in FLAT_CASES])
    def test_filter_flat(self, store: VectorStore, collection: str, case: str, flt: Filter) -> None:
        ref = self._fill(store, collection, records_for(FLAT_METADATA, DIM))
        self._check_filter(store, collection, ref, flt)

    @pytest.mark.parametrize(("case", "flt"), NESTED_CASES, ids=[c for c, _ in NESTED_CASES])
    def test_filter_nested(self, store: VectorStore, collection: str, case: str, flt: Filter) -> None:
        if not self.caps(store).nested_keys:
            pytest.skip("backend declares nested_keys=False")
        ref = self._fill(store, collection, records_for(NESTED_METADATA, DIM))
        self._check_filter(store, collection, ref, flt)

    @pytest.mark.parametrize(("case", "flt"), LIST_CASES, ids=[c for c, _ in LIST_CASES])
    def test_filter_lists(self, store: VectorStore, collection: str, case: str, flt: Filter) -> None:
        if not self.caps(store).list_values:
            pytest.skip("backend declares list_values=False")
        ref = self._fill(store, collection, records_for(LIST_METADATA, DIM))
        self._check_filter(store, collection, ref, flt)

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
