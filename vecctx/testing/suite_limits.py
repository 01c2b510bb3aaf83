"""Conformance area: the limits a backend declares (``Capabilities.max_filter_values`` and
``max_text_bytes``) are kept: a filter at the limit is answered as the reference answers it, a
longer one is refused before any I/O and never sent (longer lists crashed or stalled some
backends); a text at the limit is stored whole, a longer one is refused and nothing is written."""

from __future__ import annotations

import numpy as np
import pytest

from vecctx.contract.errors import InvalidFilterError, InvalidInputError
from vecctx.contract.filters import F, Filter
from vecctx.contract.store import VectorStore
from vecctx.contract.types import CollectionSpec, Record
from vecctx.memory import MemoryStore
from vecctx.testing.suite_base import DIM, SuiteBase

#: The list lengths a backend without a declared limit must answer: in several filters, and
#: once (the reference evaluates ``in`` by scanning its list for each record).
LONG_PROBE = 10_000
UNBOUNDED_PROBE = 100_000


class LimitTests(SuiteBase):
    """Long ``in``/``nin`` lists: answered up to the declared limit, refused beyond it."""

    def _long_lists_fixture(self, store: VectorStore, collection: str) -> MemoryStore:
        rng = np.random.default_rng(17)
        recs = [
            Record(
                id=f"l{i:02}",
                vector=rng.standard_normal(DIM).astype(np.float32),
                metadata={
                    "i": i,
                    "f": i + 0.5 * (i % 2),
                    "s": f"s{i}",
                    "li": [i, i + 1],
                    "ls": [f"s{i}", "x"],
                },
            )
            for i in range(40)
        ]
        return self._fill(store, collection, recs)

    @staticmethod
    def _agree(store: VectorStore, ref: MemoryStore, collection: str, flt: Filter) -> None:
        want = sorted(r.id for r in ref.scroll(collection, filter=flt))
        assert store.count(collection, filter=flt) == len(want)
        assert sorted(r.id for r in store.scroll(collection, filter=flt)) == want

    def test_longest_in_lists_match_reference(self, store: VectorStore, collection: str) -> None:
        """``in``/``nin`` lists as long as the backend declares (10,000 values where it declares
        no limit), of integers, strings and both, match what the reference matches."""
        n = self.caps(store).max_filter_values or LONG_PROBE
        ref = self._long_lists_fixture(store, collection)
        ints = list(range(0, 2 * n, 2))
        strs = [f"s{i}" for i in range(0, 2 * n, 2)]
        half = n // 2
        for flt in (
            F("i").in_(ints),
            F("li").nin(ints),
            F("s").in_(strs),
            F("ls").nin(strs),
            F("f").in_(ints[:half]) | F("s").in_(strs[: n - half]),
        ):
            self._agree(store, ref, collection, flt)

    def test_longer_filter_is_refused_before_io(self, store: VectorStore, collection: str) -> None:
        """One value over the declared limit, in one list or across a filter, is an
        ``InvalidFilterError`` on every call that takes a filter, and nothing is deleted."""
        limit = self.caps(store).max_filter_values
        ref = self._long_lists_fixture(store, collection)
        if limit is None:  # nothing to refuse: a list of 100,000 values is answered
            self._agree(store, ref, collection, F("i").in_(list(range(UNBOUNDED_PROBE))))
            return
        over = [
            F("i").in_(list(range(limit + 1))),
            F("s").nin([f"s{i}" for i in range(limit + 1)]),
            F("i").in_(list(range(limit))) & (F("s") == "s1"),
        ]
        for flt in over:
            with pytest.raises(InvalidFilterError, match="operand values"):
                store.count(collection, filter=flt)
            with pytest.raises(InvalidFilterError):
                list(store.scroll(collection, filter=flt))
            with pytest.raises(InvalidFilterError):
                store.search(collection, vector=np.ones(DIM, dtype=np.float32), filter=flt)
            with pytest.raises(InvalidFilterError):
                store.delete(collection, filter=flt)
        assert store.count(collection) == 40

    def test_text_size_limit(self, store: VectorStore, collection: str) -> None:
        """A text of ``max_text_bytes`` (1 MB where no limit is declared) is stored and read back
        whole; one byte more (multi-byte characters counted as bytes) is an ``InvalidInputError``
        for the whole batch, and nothing of the batch is written."""
        limit = self.caps(store).max_text_bytes
        size = limit if limit is not None else 1_000_000
        store.create_collection(CollectionSpec(collection, DIM))
        vec = np.ones(DIM, dtype=np.float32)
        text = "é" * (size // 2) + "x" * (size % 2)  # two bytes a character in UTF-8
        store.upsert(collection, [Record("whole", vec, text)])
        assert store.get(collection, ["whole"])[0].text == text
        if limit is None:
            return
        over = [Record("fine", vec, "short"), Record("long", vec, text + "x")]
        with pytest.raises(InvalidInputError, match=f"over the {limit} bytes"):
            store.upsert(collection, over)
        assert store.count(collection) == 1 and not store.get(collection, ["fine", "long"])
