"""Cross-adapter differential fuzzing: every adapter that runs here against ``MemoryStore``.

Hypothesis draws a data set (30-80 records with mixed metadata: unicode strings, ints
including 64-bit extremes, floats, bools, lists, nested objects reached by dotted paths,
nulls and missing fields) and then many cases over it (a random filter tree over every
operator, a random query vector, a random ``k``). Each data set is upserted once per example
(into one collection per adapter, reused: see ``Runner``) and every case runs against it,
so even Milvus Lite's round trips stay cheap. A mismatch is minimised on the spot (one
record, the smallest sub-filter) instead of by Hypothesis's shrinker, far too slow here. For every case the adapter must agree with the exact reference store on

* the filtered count, and
* the exact filtered search (``SearchParams(exact=True)``): the same number of hits, every
  hit matching the filter and carrying its true score, and the score list equal to the
  reference's position by position (so ties in score may be ordered either way).

What each backend declares in its ``Capabilities`` (``filter_ops``, ``nested_keys``,
``list_values``) shapes what is generated; a filter using an undeclared operator must raise
``UnsupportedFeatureError`` before any I/O.

Two tiers:

* per commit (not marked): a few derandomized examples per adapter, deterministic in CI;
* ``make fuzz`` (marked ``fuzz``): at least 10,000 filter cases across the adapters,
  counted and reported at the end (also written as JSON under pytest's base temp dir).
  ``VECCTX_FUZZ_SCALE`` multiplies the per-adapter targets.

Counterexamples found so far are kept as explicit cases in :data:`REGRESSIONS`.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from vecctx import connect
from vecctx.contract.compiler import simplify, to_nnf
from vecctx.contract.errors import ConfigError, UnsupportedFeatureError
from vecctx.contract.filters import RANGE_OPS, And, Cmp, Exists, Filter, In, Not, Op, Or, Scalar
from vecctx.contract.store import Capabilities, SearchParams, VectorStore
from vecctx.contract.types import CollectionSpec, FieldType, Record
from vecctx.memory import MemoryStore

DIM = 8
EXACT = SearchParams(exact=True)
#: Scores from two engines differ by float32 rounding; a score within this is "the same".
SCORE_TOL = 1e-4

#: Every adapter that can run on this machine (Weaviate needs a server: not here).
ADAPTER_URLS: dict[str, str] = {
    "qdrant-edge": "qdrant://{dir}/edge",
    "qdrant-local": "qdrant+local://:memory:",
    "milvus-lite": "milvus://{dir}/lite.db",
    "chroma": "chroma://{dir}/chroma",
}

#: Cases per adapter in the fuzz tier (total >= 10,000), times ``VECCTX_FUZZ_SCALE``.
FUZZ_TARGETS: dict[str, int] = {
    "qdrant-edge": 4000,
    "qdrant-local": 2500,
    "milvus-lite": 2500,
    "chroma": 2500,
}
FUZZ_MIN_TOTAL = 10_000
#: Examples (data sets) per adapter in the per-commit tier, and cases per data set.
COMMIT_EXAMPLES = 6
CASES_PER_DATASET = 25

# -- value pools ------------------------------------------------------------------------------
# Small pools make collisions between stored values and filter operands likely (a filter that
# never matches tests little); the free-form strategies add everything else.

STRINGS: list[str] = [
    "",
    "a",
    "b",
    "A",
    "ab",
    "1",
    "2.5",
    "true",
    "null",
    "ü",
    "ünïcødé ✓",
    "日本語",
    "😀",
    "x y",
    'q"uote',
    "back\\slash",
    "it's",
    "a,b",
    "$eq",
]
INTS: list[int] = [-3, -1, 0, 1, 2, 3, 7, 2**31, 2**53 + 1, -(2**63), 2**63 - 1]
FLOATS: list[float] = [-1.5, -0.0, 0.5, 1.0, 2.0, 2.5, 3.25, 1e-9, 1e300, -(2.0**60)]

#: The date field every collection declares (``FieldType.DATETIME``): aware datetimes a few
#: hours apart, each in one of several timezones (one instant, many spellings).
DATE_KEY = "t"
DATE_FIELDS = {DATE_KEY: FieldType.DATETIME}
DATE_BASE = datetime(2024, 5, 1, 12, tzinfo=UTC)
DATE_OFFSETS_MIN = [-300, 0, 120, 330]

#: Top-level metadata keys (``zz`` is never written; ``ключ`` is unicode).
FLAT_KEYS: list[str] = ["a", "b", "s", "n", "tags", "ключ", "zz"]
#: Dotted paths into the nested object ``o`` (and through values that are not objects).
NESTED_KEYS: list[str] = ["o", "o.x", "o.y", "o.p", "o.p.z", "o.zz", "a.x"]


# -- strategies -------------------------------------------------------------------------------


def _strings() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(STRINGS), st.text(max_size=3))


def _ints() -> st.SearchStrategy[int]:
    return st.one_of(st.sampled_from(INTS), st.integers(-5, 5), st.integers(-(2**53), 2**53))


def _floats() -> st.SearchStrategy[float]:
    return st.one_of(st.sampled_from(FLOATS), st.floats(allow_nan=False, allow_infinity=False))


def _numbers() -> st.SearchStrategy[int | float]:
    return st.one_of(_ints(), _floats())


def _scalars() -> st.SearchStrategy[Scalar]:
    return st.one_of(_strings(), _ints(), _floats(), st.booleans())


def _dates() -> st.SearchStrategy[datetime]:
    return st.builds(
        lambda hours, minutes: (DATE_BASE + timedelta(hours=hours)).astimezone(
            timezone(timedelta(minutes=minutes))
        ),
        st.integers(-2, 2),
        st.sampled_from(DATE_OFFSETS_MIN),
    )


def _lists() -> st.SearchStrategy[list[Any]]:
    return st.one_of(
        st.lists(_strings(), max_size=3),
        st.lists(_ints(), max_size=3),
        st.lists(_numbers(), max_size=3),
        st.lists(st.booleans(), max_size=2),
        st.lists(st.one_of(_scalars(), st.none()), max_size=3),
    )


def _values(caps: Capabilities) -> st.SearchStrategy[Any]:
    """A metadata value: a scalar, a list (if declared) or ``None`` (which means missing)."""
    options: list[st.SearchStrategy[Any]] = [_scalars(), _scalars(), st.none()]
    if caps.list_values:
        options.append(_lists())
    return st.one_of(*options)


def _metadata(caps: Capabilities) -> st.SearchStrategy[dict[str, Any]]:
    value = _values(caps)
    optional: dict[str, st.SearchStrategy[Any]] = {
        "a": value,
        "b": value,
        "s": _strings(),
        "n": _numbers(),
        "ключ": value,
        DATE_KEY: st.one_of(_dates(), st.none()),
    }
    if caps.list_values:
        optional["tags"] = st.one_of(st.lists(_strings(), max_size=4), st.lists(_ints(), max_size=3))
    else:
        optional["tags"] = _strings()
    if caps.nested_keys:
        inner = st.fixed_dictionaries({}, optional={"z": value})
        obj = st.fixed_dictionaries({}, optional={"x": value, "y": value, "p": st.one_of(inner, value)})
        optional["o"] = st.one_of(obj, obj, value)
    else:
        optional["o"] = value
    return st.fixed_dictionaries({}, optional=optional)


def _filters(caps: Capabilities) -> st.SearchStrategy[Filter]:
    """Filter trees using only the operators, keys and values the backend declares."""
    ops = caps.filter_ops
    keys = st.sampled_from(FLAT_KEYS + (NESTED_KEYS if caps.nested_keys else []))
    leaves: list[st.SearchStrategy[Filter]] = []
    for op in (Op.EQ, Op.NE):
        if op in ops:
            leaves.append(st.builds(Cmp, keys, st.just(op), _scalars()))
    for op in sorted(RANGE_OPS & ops):
        leaves.append(st.builds(Cmp, keys, st.just(op), _numbers()))
    for op, negate in ((Op.IN, False), (Op.NIN, True)):
        if op in ops:
            values = st.lists(_scalars(), min_size=0, max_size=4).map(tuple)
            leaves.append(st.builds(In, keys, values, st.just(negate)))
    if Op.EXISTS in ops:
        leaves.append(st.builds(Exists, keys))
    date_key = st.just(DATE_KEY)
    for op in sorted((RANGE_OPS | {Op.EQ, Op.NE}) & ops):
        leaves.append(st.builds(Cmp, date_key, st.just(op), _dates()))
    for op, negate in ((Op.IN, False), (Op.NIN, True)):
        if op in ops:
            leaves.append(st.builds(In, date_key, st.lists(_dates(), max_size=3).map(tuple), st.just(negate)))
    if not leaves:
        raise RuntimeError(f"{caps.name} declares no leaf filter operator")
    leaf = st.one_of(*leaves)

    def extend(children: st.SearchStrategy[Filter]) -> st.SearchStrategy[Filter]:
        nodes: list[st.SearchStrategy[Filter]] = []
        kids = st.lists(children, min_size=1, max_size=3).map(tuple)
        if Op.AND in ops:
            nodes.append(st.builds(And, kids))
        if Op.OR in ops:
            nodes.append(st.builds(Or, kids))
        if Op.NOT in ops:
            nodes.append(st.builds(Not, children))
        return st.one_of(*nodes) if nodes else children

    return st.recursive(leaf, extend, max_leaves=8)


@dataclass(frozen=True)
class Dataset:
    metadata: list[dict[str, Any]]
    #: Seed of the record vectors; ``distinct`` > 0 draws them from that many distinct
    #: vectors (exact ties in score), 0 makes them all different.
    seed: int
    distinct: int

    def records(self) -> list[Record]:
        rng = np.random.default_rng(self.seed)
        n = len(self.metadata)
        if self.distinct:
            base = _nonzero(rng.standard_normal((self.distinct, DIM)))
            vecs = base[rng.integers(0, self.distinct, size=n)]
        else:
            vecs = _nonzero(rng.standard_normal((n, DIM)))
        return [
            Record(id=f"id-{i:03d}", vector=vecs[i].astype(np.float32), metadata=m)
            for i, m in enumerate(self.metadata)
        ]


@dataclass(frozen=True)
class Case:
    filter: Filter
    query_seed: int
    k: int

    def query(self) -> np.ndarray:
        vec: np.ndarray = _nonzero(np.random.default_rng(self.query_seed).standard_normal((1, DIM)))[0]
        return vec


def _nonzero(m: np.ndarray) -> np.ndarray:
    m[np.linalg.norm(m, axis=1) < 1e-3] = 1.0
    return m.astype(np.float32)


def _datasets(caps: Capabilities) -> st.SearchStrategy[Dataset]:
    return st.builds(
        Dataset,
        metadata=st.lists(_metadata(caps), min_size=30, max_size=80),
        seed=st.integers(0, 2**32 - 1),
        distinct=st.sampled_from([0, 0, 1, 3, 8]),
    )


def _cases(caps: Capabilities) -> st.SearchStrategy[Case]:
    return st.builds(
        Case,
        filter=_filters(caps),
        query_seed=st.integers(0, 2**32 - 1),
        k=st.sampled_from([1, 3, 10, 25, 100]),
    )


# -- the check --------------------------------------------------------------------------------


class Mismatch(AssertionError):
    """An adapter disagreed with the reference store."""


def _meta_of(records: Sequence[Record], ids: set[str], limit: int = 6) -> str:
    rows = [f"    {r.id}: {r.metadata!r}" for r in records if r.id in ids]
    more = f"\n    ... and {len(rows) - limit} more" if len(rows) > limit else ""
    return "\n".join(rows[:limit]) + more


def check_case(
    adapter: str,
    store: VectorStore,
    ref: MemoryStore,
    collection: str,
    records: Sequence[Record],
    case: Case,
) -> None:
    """Raise :class:`Mismatch` (with the offending records) when ``store`` and ``ref`` disagree."""
    flt, q, k = case.filter, case.query(), case.k
    undeclared = flt.ops() - store.capabilities.filter_ops
    refused = REFUSED.get(adapter)
    sent = simplify(to_nnf(flt))  # what reaches the driver: no branch an empty list rules out
    if undeclared or (refused is not None and isinstance(sent, Filter) and refused(sent)):
        with pytest.raises(UnsupportedFeatureError):
            store.count(collection, filter=flt)
        with pytest.raises(UnsupportedFeatureError):
            store.search(collection, vector=q, filter=flt, k=k, params=EXACT)
        return
    every = ref.search(collection, vector=q, filter=flt, k=max(len(records), 1))
    truth = {h.id: h.score for h in every}
    want = every[:k]
    problems: list[str] = []
    try:
        got_n = store.count(collection, filter=flt)
        got = store.search(collection, vector=q, filter=flt, k=k, params=EXACT)
    except Exception as exc:  # a backend error is a mismatch too: report it with the case
        raise Mismatch(f"{adapter}: {type(exc).__name__}: {exc}\n  filter: {flt.to_dict()!r}") from exc
    if got_n != len(truth):
        problems.append(f"count: expected {len(truth)}, got {got_n}")
    got_ids = [h.id for h in got]
    if len(set(got_ids)) != len(got_ids):
        problems.append(f"search returned duplicate ids: {got_ids}")
    if len(got) != len(want):
        problems.append(f"search k={k}: expected {len(want)} hits, got {len(got)}")
    wrong = [i for i in got_ids if i not in truth]
    if wrong:
        problems.append(f"search returned ids that do not match the filter: {wrong}")
    for h in got:
        if h.id in truth and not math.isclose(h.score, truth[h.id], abs_tol=SCORE_TOL):
            problems.append(f"hit {h.id}: score {h.score} but the reference scores it {truth[h.id]}")
            break
    if len(got) == len(want) and not wrong:
        got_scores = sorted((h.score for h in got), reverse=True)
        want_scores = [h.score for h in want]
        if not all(
            math.isclose(a, b, abs_tol=SCORE_TOL) for a, b in zip(got_scores, want_scores, strict=True)
        ):
            problems.append(
                f"search k={k} is not the top k: expected ids {[h.id for h in want]} "
                f"(scores {want_scores}), got {got_ids} (scores {got_scores})"
            )
    if not problems:
        return
    # Name the records the adapter gets wrong: what it matches against what it should.
    try:
        matched = {r.id for r in store.scroll(collection, filter=flt)}
        missing, extra = set(truth) - matched, matched - set(truth)
        detail = (
            f"  records the adapter misses ({len(missing)}):\n{_meta_of(records, missing)}\n"
            f"  records the adapter wrongly matches ({len(extra)}):\n{_meta_of(records, extra)}"
        )
        culprits = [r for r in records if r.id in missing | extra]
        if culprits:
            detail += "\n" + _minimise(store, culprits, flt)
    except Exception as exc:
        detail = f"  (scroll failed: {type(exc).__name__}: {exc})"
    raise Mismatch(
        f"{adapter} disagrees with MemoryStore\n  filter: {flt.to_dict()!r}\n  "
        + "\n  ".join(problems)
        + "\n"
        + detail
    )


# -- minimising a counterexample --------------------------------------------------------------
# Hypothesis's shrinker re-runs whole data sets through the backend and takes many minutes on
# these examples, so the fuzz tiers run without it and a mismatch is minimised here instead:
# one record, the smallest sub-filter and the fewest metadata keys that still disagree.

_MIN_TRIALS = 200


def _disagrees(store: VectorStore, meta: dict[str, Any], flt: Filter) -> bool:
    name = f"fzmin{os.getpid()}"
    store.drop_collection(name, missing_ok=True)
    store.create_collection(CollectionSpec(name=name, dimension=DIM, indexed_fields=DATE_FIELDS))
    try:
        store.upsert(name, [Record(id="r", vector=np.ones(DIM, dtype=np.float32), metadata=meta)])
        return store.count(name, filter=flt) != int(flt.matches(meta))
    except Exception:
        return True
    finally:
        store.drop_collection(name, missing_ok=True)


def _simpler_filters(flt: Filter) -> Iterator[Filter]:
    if isinstance(flt, And | Or):
        yield from flt.children
        if len(flt.children) > 1:
            for i in range(len(flt.children)):
                rest = flt.children[:i] + flt.children[i + 1 :]
                yield type(flt)(rest)
        for i, c in enumerate(flt.children):
            for sub in _simpler_filters(c):
                yield type(flt)((*flt.children[:i], sub, *flt.children[i + 1 :]))
    elif isinstance(flt, Not):
        yield flt.child
        for sub in _simpler_filters(flt.child):
            yield Not(sub)
    elif isinstance(flt, In) and len(flt.values) > 1:
        for i in range(len(flt.values)):
            yield In(flt.key, flt.values[:i] + flt.values[i + 1 :], flt.negate)


def _minimise(store: VectorStore, culprits: Sequence[Record], flt: Filter) -> str:
    trials = 0
    for rec in culprits[:5]:
        meta = dict(rec.metadata)
        trials += 1
        if not _disagrees(store, meta, flt):
            continue
        progress = True
        while progress and trials < _MIN_TRIALS:
            progress = False
            for cand in _simpler_filters(flt):
                trials += 1
                if _disagrees(store, meta, cand):
                    flt, progress = cand, True
                    break
            for key in list(meta):
                trials += 1
                smaller = {k: v for k, v in meta.items() if k != key}
                if _disagrees(store, smaller, flt):
                    meta, progress = smaller, True
        return (
            f"  minimal counterexample (one record, {trials} trials):\n"
            f"    metadata: {meta!r}\n    filter: {flt!r}\n"
            f"    expected match: {flt.matches(meta)}"
        )
    return "  (no single record reproduces it on its own)"


@dataclass
class Tally:
    examples: int = 0
    cases: int = 0
    #: Cases left out because they fall under a documented known limitation of the adapter.
    known: int = 0
    records: int = 0


def _inexact_int(x: Any) -> bool:
    """An integer that a double cannot hold exactly (beyond 2**53)."""
    return isinstance(x, int) and not isinstance(x, bool) and int(float(x)) != x


def _lookup(meta: Mapping[str, Any], key: str) -> Any:
    cur: Any = meta
    for part in key.split("."):
        if not isinstance(cur, Mapping):
            return None
        cur = cur.get(part)
    return cur


def _qdrant_inexact_ints(records: Sequence[Record], flt: Filter) -> bool:
    """Qdrant compares numbers as doubles: integers beyond 2**53 compare inexactly.

    True when the filter compares numbers at a key and an integer that a double cannot hold
    exactly takes part (as an operand or as a stored value or list element at that key).
    See :data:`REGRESSIONS` (``qdrant_range_int_beyond_2_53``).
    """
    for node in flt.walk():
        if isinstance(node, Cmp):
            operands: tuple[Any, ...] = (node.value,)
        elif isinstance(node, In):
            operands = node.values
        else:
            continue
        numbers = [v for v in operands if isinstance(v, int | float) and not isinstance(v, bool)]
        if not numbers:
            continue
        if any(_inexact_int(v) for v in numbers):
            return True
        for r in records:
            found = _lookup(r.metadata, node.key)
            if any(_inexact_int(e) for e in (found if isinstance(found, list) else [found])):
                return True
    return False


def _qdrant_inexact_range_operand(flt: Filter) -> bool:
    """A range comparison whose integer operand a double cannot hold (Qdrant refuses it)."""
    return any(
        isinstance(n, Cmp) and n.cmp in RANGE_OPS and type(n.value) is int and _inexact_int(n.value)
        for n in flt.walk()
    )


#: Adapter -> predicate over a filter: filters the adapter must refuse with
#: ``UnsupportedFeatureError`` before any I/O (checked like an undeclared operator).
REFUSED: dict[str, Callable[[Filter], bool]] = {
    "qdrant-edge": _qdrant_inexact_range_operand,
    "qdrant-local": _qdrant_inexact_range_operand,
}


#: Adapter -> predicate over (records, filter): cases under a known, reported limitation that
#: the random tiers leave out (the explicit regressions below still run them, as xfail).
def _qdrant_unrefused_inexact_ints(records: Sequence[Record], flt: Filter) -> bool:
    # A filter Qdrant refuses is checked (the refusal), not skipped.
    return not _qdrant_inexact_range_operand(flt) and _qdrant_inexact_ints(records, flt)


KNOWN_LIMITS: dict[str, Callable[[Sequence[Record], Filter], bool]] = {
    "qdrant-edge": _qdrant_unrefused_inexact_ints,
    "qdrant-local": _qdrant_unrefused_inexact_ints,
}


#: Adapters that get a new collection per data set rather than delete + re-upsert of the same
#: ids: on Milvus Lite an exact filtered search after that once returned 32 of the 37 matching
#: records while count and scroll agreed (not reproducible on replay; reported).
#: (Chroma once leaked list metadata across drop + create: ``test_regression_drop_then_recreate``.)
FRESH_COLLECTION = frozenset({"milvus-lite"})


class Runner:
    """Runs data sets through one adapter: one collection, reused for every data set (the
    previous data set's records are deleted, the new one upserted), many cases each."""

    def __init__(self, adapter: str, store: VectorStore) -> None:
        self.adapter = adapter
        self.store = store
        self.tally = Tally()
        self.name = f"fz{os.getpid()}"
        self._ids: list[str] = []
        self._known = KNOWN_LIMITS.get(adapter)

    def run(
        self, dataset: Dataset, cases: Sequence[Case], *, fresh: bool = False, explicit: bool = False
    ) -> None:
        """``fresh``: drop and create the collection first instead of deleting records;
        ``explicit``: run every case, even those under a known limitation."""
        fresh = fresh or self.adapter in FRESH_COLLECTION
        records = dataset.records()
        spec = CollectionSpec(name=self.name, dimension=DIM, indexed_fields=DATE_FIELDS)
        ref = MemoryStore()
        ref.create_collection(spec)
        ref.upsert(self.name, records)
        if fresh:
            self.store.drop_collection(self.name, missing_ok=True)
            self._ids = []
        if not self.store.has_collection(self.name):
            self.store.create_collection(spec)
        if self._ids:
            self.store.delete(self.name, ids=self._ids)
            self._ids = []
        self.store.upsert(self.name, records)
        self._ids = [r.id for r in records]
        for case in cases:
            if self._known is not None and not explicit and self._known(records, case.filter):
                self.tally.known += 1
                continue
            check_case(self.adapter, self.store, ref, self.name, records, case)
            self.tally.cases += 1
        self.tally.examples += 1
        self.tally.records += len(records)


def _runner_test(runner: Runner, caps: Capabilities, conf: settings, n_cases: int) -> Callable[[], None]:
    """A Hypothesis test over (data set, ``n_cases`` cases) bound to one adapter."""

    @conf
    @given(dataset=_datasets(caps), cases=st.lists(_cases(caps), min_size=n_cases, max_size=n_cases))
    def run(dataset: Dataset, cases: list[Case]) -> None:
        runner.run(dataset, cases)

    return run


NO_SHRINK = [Phase.explicit, Phase.reuse, Phase.generate]
_HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example]

COMMIT_SETTINGS = settings(
    max_examples=COMMIT_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=_HEALTH,
    phases=NO_SHRINK,
    print_blob=True,
)


def _fuzz_settings(max_examples: int) -> settings:
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=False,
        database=None,
        suppress_health_check=_HEALTH,
        phases=NO_SHRINK,
        print_blob=True,
    )


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=list(ADAPTER_URLS))
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runner]:
    """One open store per adapter for the whole module (opening is the slow part)."""
    adapter: str = request.param
    url = ADAPTER_URLS[adapter].format(dir=tmp_path_factory.mktemp(f"fuzz-{adapter}"))
    try:
        store = connect(url)
    except ConfigError as exc:
        pytest.skip(f"{adapter} is not available here: {exc}")
    try:
        yield Runner(adapter, store)
    finally:
        store.close()


_TOTALS: dict[str, dict[str, dict[str, Any]]] = {}


def _record(tier: str, runner: Runner, seconds: float, failure: str | None) -> None:
    t = runner.tally
    _TOTALS.setdefault(tier, {})[runner.adapter] = {
        "examples": t.examples,
        "cases": t.cases,
        "known_limit_skipped": t.known,
        "records": t.records,
        "seconds": round(seconds, 1),
        "mismatch": failure,
    }


@pytest.fixture(scope="module", autouse=True)
def _summary(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """At the end of the module: print the case counts and write them as JSON."""
    yield
    if not _TOTALS:
        return
    out = Path(tmp_path_factory.getbasetemp()) / "fuzz-summary.json"
    out.write_text(json.dumps(_TOTALS, indent=2, sort_keys=True, ensure_ascii=False))
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    lines = [f"differential fuzz summary (also in {out}):"]
    for tier, per in sorted(_TOTALS.items()):
        total = sum(int(v["cases"]) for v in per.values())
        bad = sum(1 for v in per.values() if v["mismatch"])
        for adapter, v in sorted(per.items()):
            lines.append(
                f"  {tier:<6} {adapter:<13} {v['cases']:>6} cases over {v['examples']:>4} data sets "
                f"({v['records']} records), {v['known_limit_skipped']} known-limit cases left out, "
                f"{v['seconds']:.1f} s" + (" MISMATCH" if v["mismatch"] else "")
            )
        lines.append(f"  {tier:<6} total         {total:>6} cases, {bad} adapter(s) with a mismatch")
    for line in lines:
        if reporter is not None:
            reporter.write_line(line)
        else:  # pragma: no cover
            print(line)


# -- the two tiers ----------------------------------------------------------------------------


def test_differential_per_commit(backend: Runner) -> None:
    """A few derandomized data sets per adapter: deterministic, part of every test run."""
    start = time.perf_counter()
    failure: str | None = None
    try:
        _runner_test(backend, backend.store.capabilities, COMMIT_SETTINGS, CASES_PER_DATASET)()
    except BaseException as exc:  # a Mismatch, or a group of them from Hypothesis
        failure = f"{type(exc).__name__}: {exc}".splitlines()[0]
        raise
    finally:
        _record("commit", backend, time.perf_counter() - start, failure)
    assert backend.tally.cases >= COMMIT_EXAMPLES * CASES_PER_DATASET // 2


@pytest.mark.fuzz
def test_differential_fuzz(backend: Runner) -> None:
    """The long target: runs Hypothesis in chunks until the adapter's case target is met."""
    start = time.perf_counter()
    scale = float(os.environ.get("VECCTX_FUZZ_SCALE", "1"))
    target = int(FUZZ_TARGETS[backend.adapter] * scale)
    chunk = _runner_test(backend, backend.store.capabilities, _fuzz_settings(25), 40)
    failure: str | None = None
    try:
        while backend.tally.cases < target:
            chunk()
    except BaseException as exc:  # a Mismatch, or a group of them from Hypothesis
        failure = f"{type(exc).__name__}: {exc}".splitlines()[0]
        raise
    finally:
        _record("fuzz", backend, time.perf_counter() - start, failure)
    if scale >= 1:
        assert sum(FUZZ_TARGETS.values()) >= FUZZ_MIN_TOTAL


# -- counterexamples found by the fuzzer --------------------------------------------------------

_B = 2**53

QDRANT_DOUBLES = (
    "Qdrant compares numbers as doubles (Range is RangeFloat; qdrant-client coerces operands to "
    "float): integers beyond 2**53 compare inexactly against the reference's exact integers"
)


@dataclass(frozen=True)
class Regression:
    name: str
    metadata: list[dict[str, Any]]
    filter: Filter
    #: Adapters on which this is a known, unfixed backend bug: adapter -> reason.
    xfail: Mapping[str, str]


REGRESSIONS: list[Regression] = [
    # An int operand beyond 2**53 would be coerced to a float (2**53): qdrant-local then
    # found 2**53 + 1 <= 2**53.0 False. Both Qdrant paths now refuse the operand (REFUSED).
    Regression(
        "qdrant_range_int_beyond_2_53_lte",
        [{"n": _B + 1}, {"n": _B}, {"n": 1}],
        Cmp("n", Op.LTE, _B + 1),
        {},
    ),
    # qdrant-edge: the stored 2**53 + 1 becomes the double 2**53, which is not > 2**53.
    Regression(
        "qdrant_range_int_beyond_2_53_gt",
        [{"n": _B + 1}, {"n": _B}, {"n": 1}],
        Cmp("n", Op.GT, _B),
        {"qdrant-edge": QDRANT_DOUBLES},
    ),
    # The operand 2**53 + 1 would become 2**53, so 2**53 "was" >= 2**53 + 1 on both Qdrant
    # paths; now refused there (REFUSED).
    Regression(
        "qdrant_range_int_beyond_2_53_gte",
        [{"n": _B}, {"n": float(_B)}, {"n": 1}],
        Cmp("n", Op.GTE, _B + 1),
        {},
    ),
    # At the int64 edges: was wrong on both Qdrant paths, now refused there (REFUSED).
    Regression(
        "qdrant_range_int64_extremes",
        [{"n": 2**63 - 1}, {"n": -(2**63)}, {"n": 0}],
        Or((Cmp("n", Op.GT, 2**63 - 2), Cmp("n", Op.LT, -(2**63) + 1))),
        {},
    ),
    # qdrant-edge: eq with the float 2**53 matches the stored int 2**53 + 1.
    Regression(
        "qdrant_eq_float_vs_int_beyond_2_53",
        [{"n": _B + 1}, {"n": 1}],
        Cmp("n", Op.EQ, float(_B)),
        {"qdrant-edge": QDRANT_DOUBLES},
    ),
    # Passes everywhere; kept from the first chroma mismatch: a negated range must match
    # records without the key, including records whose metadata is empty.
    Regression(
        "not_range_matches_empty_metadata",
        [{}, {"b": 5}, {"b": -1000}, {"b": "x"}, {"b": [1, -2000]}],
        Not(Cmp("b", Op.GT, -911)),
        {},
    ),
]


@pytest.mark.parametrize("reg", REGRESSIONS, ids=[r.name for r in REGRESSIONS])
def test_regression(backend: Runner, reg: Regression, request: pytest.FixtureRequest) -> None:
    reason = reg.xfail.get(backend.adapter)
    if reason is not None:
        request.applymarker(pytest.mark.xfail(strict=True, raises=Mismatch, reason=reason))
    dataset = Dataset(metadata=reg.metadata, seed=0, distinct=0)
    backend.run(
        dataset, [Case(reg.filter, query_seed=0, k=k) for k in (1, 10, 100)], fresh=True, explicit=True
    )


def test_regression_drop_then_recreate(backend: Runner) -> None:
    """Found by the fuzzer when it dropped and re-created a collection per data set: on
    Chroma, records of a new collection inherited list-valued metadata of dropped ones."""
    # the Chroma adapter deletes a collection's records before the collection (ChromaStore._purge)
    first = Dataset(metadata=[{"tags": ["b"], "n": 1}, {"tags": ["c"]}], seed=0, distinct=0)
    backend.run(first, [], fresh=True)
    second = Dataset(metadata=[{}, {"s": "x"}], seed=1, distinct=0)
    cases = [Case(flt, query_seed=0, k=10) for flt in (Not(Cmp("tags", Op.EQ, "b")), Exists("tags"))]
    backend.run(second, cases, fresh=True, explicit=True)
