"""The batched id hashing equals ``uuid.uuid5``: every user id maps to the same point id
whether it is hashed alone (``point_id``) or in a batch (``point_ids``, the ingest path)."""

from __future__ import annotations

import random
import uuid

import pytest
from vecctx_qdrant import NAMESPACE, point_id, point_ids


def _random_id(rng: random.Random) -> str:
    alphabet = "abcXYZ019-_./ éß日本語🙂"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 300)))


@pytest.mark.parametrize("n", [0, 1, 7, 8, 9, 100, 1000])
def test_point_ids_equal_uuid5(n: int) -> None:
    rng = random.Random(n)
    ids = [_random_id(rng) for _ in range(n)]
    got = point_ids(ids)
    assert got == [str(uuid.uuid5(NAMESPACE, i)) for i in ids]
    assert got == [point_id(i) for i in ids]


def test_point_ids_of_lone_surrogates_equal_point_id() -> None:
    # uuid.uuid5 cannot encode a lone surrogate; point_id hashes it with surrogatepass, and the
    # batch form must agree with it (so a record that fails later fails the same way).
    ids = [f"x\ud800{i}" for i in range(20)]
    assert point_ids(ids) == [point_id(i) for i in ids]
    assert len(set(point_ids(ids))) == 20
