"""Conformance area: filters, compared with the reference evaluator on every shared case."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import numpy as np
import pytest

from vecctx.contract.errors import InvalidFilterError, InvalidInputError, UnsupportedFeatureError
from vecctx.contract.filters import ALL_OPS, MAX_FILTER_DEPTH, And, F, Filter, Or, parse_filter
from vecctx.contract.store import FilterArg, SearchRequest, VectorStore
from vecctx.contract.types import CollectionSpec, FieldType, Record
from vecctx.testing.cases import FLAT_CASES, LIST_CASES, NESTED_CASES
from vecctx.testing.data import FLAT_METADATA, LIST_METADATA, NESTED_METADATA, records_for
from vecctx.testing.suite_base import DIM, SuiteBase, filter_using

NOON = datetime(2024, 5, 1, 12, tzinfo=UTC)
#: The same instant as NOON, written in another timezone.
NOON_PARIS = datetime(2024, 5, 1, 14, tzinfo=timezone(timedelta(hours=2)))
#: ``published`` (a field declared ``FieldType.DATETIME``) as written, and the instant each
#: record holds (``None``: missing).
DATED: list[tuple[dict[str, Any], datetime | None]] = [
    ({"published": NOON, "lang": "en"}, NOON),
    ({"published": NOON_PARIS, "lang": "de"}, NOON),
    ({"published": "2024-05-01T12:00:01+00:00", "lang": "en"}, NOON + timedelta(seconds=1)),
    ({"published": "2024-05-02"}, datetime(2024, 5, 2, tzinfo=UTC)),
    (
        {"published": datetime(2023, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)},
        datetime(2023, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    ),
    ({"lang": "en"}, None),
    ({"published": None, "lang": "fr"}, None),
    (
        {"published": datetime(2024, 5, 1, 7, 30, tzinfo=timezone(timedelta(hours=-5)))},
        NOON + timedelta(minutes=30),
    ),
    ({"published": datetime(1970, 1, 1, tzinfo=UTC)}, datetime(1970, 1, 1, tzinfo=UTC)),
    ({"published": "1960-01-01T00:00:00.000001-00:00"}, datetime(1960, 1, 1, 0, 0, 0, 1, tzinfo=UTC)),
]
DATE_FIELDS = {"published": FieldType.DATETIME, "lang": FieldType.KEYWORD}


class FilterTests(SuiteBase):
    """count, scroll and search under each filter case agree with the reference; an operator
    the backend does not declare is refused before any I/O. Dates compare as instants through a
    field declared ``FieldType.DATETIME``; empty ``in``/``nin`` lists and ``None`` operands mean
    what the reference says (:mod:`vecctx.contract.filters`)."""

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

    def _dated(self, store: VectorStore, collection: str) -> Any:
        return self._fill(store, collection, records_for([m for m, _ in DATED], DIM), indexed=DATE_FIELDS)

    @staticmethod
    def _ids(store: VectorStore, collection: str, flt: Any) -> list[str]:
        return sorted(r.id for r in store.scroll(collection, filter=flt))

    def test_dates_compare_as_instants(self, store: VectorStore, collection: str) -> None:
        ref = self._dated(store, collection)
        utc_max = datetime.max.replace(tzinfo=UTC)
        cases: list[tuple[FilterArg, list[int]]] = [
            (F("published") >= NOON_PARIS, [0, 1, 2, 3, 7]),
            (F("published") > NOON, [2, 3, 7]),
            (F("published") < NOON_PARIS, [4, 8, 9]),
            (F("published") <= NOON, [0, 1, 4, 8, 9]),
            (F("published") == NOON_PARIS, [0, 1]),
            (F("published") == "2024-05-01T12:00:00Z", [0, 1]),
            (F("published") != NOON, [2, 3, 4, 5, 6, 7, 8, 9]),
            (F("published").in_([NOON, "2024-05-02"]), [0, 1, 3]),
            (F("published").nin([NOON, None]), [2, 3, 4, 7, 8, 9]),
            (
                F("published").between(datetime(2024, 1, 1, tzinfo=UTC), NOON + timedelta(seconds=1)),
                [0, 1, 2],
            ),
            ({"published": {"$lt": {"$date": "2024-01-01"}}}, [4, 8, 9]),
            ({"published": {"$date": "2024-05-01T07:30:00-05:00"}}, [7]),
            ((F("published") < datetime(1970, 1, 1, tzinfo=UTC)), [9]),
            ((F("published") >= NOON) & (F("lang") == "en"), [0, 2]),
            (F("published") < utc_max, [0, 1, 2, 3, 4, 7, 8, 9]),  # beyond the stored range: its bound
            (F("published") > utc_max, []),
            (F("published") == None, [5, 6]),  # noqa: E711
        ]
        for flt, want in cases:
            assert self._ids(store, collection, flt) == [f"r{i:03d}" for i in want], f"{flt}"
            parsed = parse_filter(flt)
            assert parsed is not None
            self._check_filter(store, collection, ref, parsed)

    def test_dates_read_back_as_aware_utc_datetimes(self, store: VectorStore, collection: str) -> None:
        self._dated(store, collection)
        ids = [f"r{i:03d}" for i in range(len(DATED))]
        dated = {f"r{i:03d}": when for i, (_, when) in enumerate(DATED) if when is not None}
        q = np.ones(DIM, dtype=np.float32)
        hits = store.search(collection, vector=q, k=50, params=self.search_params(store))
        for got in (store.get(collection, ids), list(store.scroll(collection)), hits):
            assert len(got) == len(DATED)
            for item in got:
                meta = item.metadata or {}
                if item.id not in dated:
                    assert meta.get("published") is None
                    continue
                value = meta["published"]
                assert isinstance(value, datetime) and value.utcoffset() == timedelta(0), (item.id, value)
                assert value == dated[item.id], item.id
        empty = store.search(
            collection, vector=q, k=5, filter=F("published") > datetime.max.replace(tzinfo=UTC)
        )
        assert empty == []

    def test_naive_and_undeclared_dates_are_refused(self, store: VectorStore, collection: str) -> None:
        self._dated(store, collection)
        vec = np.ones(DIM, dtype=np.float32)
        for bad, match in [
            (datetime(2024, 5, 1, 12), "timezone"),
            ("2024-05-01T12:00:00", "timezone"),
            ("yesterday", "ISO 8601"),
            (1714564800, "datetime"),
        ]:
            with pytest.raises(InvalidInputError, match=match):
                store.upsert(collection, [Record("new", vec, metadata={"published": bad})])
        with pytest.raises(InvalidInputError, match="DATETIME"):
            store.upsert(collection, [Record("new", vec, metadata={"lang": NOON})])
        assert store.count(collection) == len(DATED)
        refused: list[tuple[FilterArg, str]] = [
            (F("lang") == NOON, "DATETIME"),
            ({"lang": {"$in": [{"$date": "2024-05-01"}]}}, "DATETIME"),
            (F("published") >= 1714564800, "datetime"),
            ({"published": {"$gte": {"$date": "2024-05-01T12:00:00"}}}, "timezone"),
            (F("published") == "not a date", "datetime"),
        ]
        for flt, match in refused:
            with pytest.raises(InvalidFilterError, match=match):
                store.count(collection, filter=flt)
            with pytest.raises(InvalidFilterError, match=match):
                store.search(collection, vector=vec, filter=flt)
        with pytest.raises(InvalidFilterError, match="naive"):
            F("published") >= datetime(2024, 5, 1)  # noqa: B015

    def test_empty_lists_and_none(self, store: VectorStore, collection: str) -> None:
        ref = self._fill(store, collection, records_for(FLAT_METADATA, DIM))
        n = len(FLAT_METADATA)
        cases: list[tuple[Filter | dict[str, Any], int | None]] = [
            (F("lang").in_([]), 0),
            (F("lang").nin([]), n),
            (~F("lang").in_([]), n),
            (F("lang").in_([]) | (F("year") >= 2021), 4),
            (F("lang").nin([]) & (F("year") >= 2021), 4),
            ((F("year") >= 2021) & ~F("lang").nin([]), 0),
            (F("lang").in_(["en", None]), 6),
            (F("lang").nin(["en", None]), 6),
            (F("lang").in_([None]), 2),
            (F("draft") == None, 5),  # noqa: E711
            (F("draft") != None, 7),  # noqa: E711
            ({"lang": {"$in": ["de", None]}}, 5),
            ({"title": None}, 3),
            ({"$or": [{"lang": {"$in": []}}, {"lang": {"$nin": ["en", None]}}]}, 6),
        ]
        q = np.ones(DIM, dtype=np.float32)
        for spec, count in cases:
            flt = parse_filter(spec) if isinstance(spec, dict) else spec
            assert flt is not None
            assert store.count(collection, filter=flt) == count, f"{spec}"
            assert len(store.search(collection, vector=q, filter=spec, k=50)) == count, f"{spec}"
            self._check_filter(store, collection, ref, flt)
        nothing, everything = F("lang").in_([]), F("lang").nin([])
        batch = store.search_batch(
            collection,
            [SearchRequest(vector=q, filter=nothing, k=50), SearchRequest(vector=q, filter=everything, k=50)],
        )
        assert [len(b) for b in batch] == [0, n]
        store.delete(collection, filter=nothing)
        assert store.count(collection) == n
        store.delete(collection, ids=["r000"], filter=nothing)  # the ids still go
        assert store.count(collection) == n - 1
        store.delete(collection, filter=everything)
        assert store.count(collection) == 0


__all__ = ["FilterTests"]
