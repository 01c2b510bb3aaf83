"""Stores any machine can open without a server, for the tests of adapters and integrations."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol, TypeVar

#: vecctx's reference store and the embedded engines: Qdrant Edge, Chroma's PersistentClient
#: and Milvus Lite (in this process).
LOCAL_BACKENDS = ("memory", "qdrant", "chroma", "milvus")


def local_store_url(backend: str, root: Path) -> str:
    """The URL of a fresh store of ``backend`` (one of :data:`LOCAL_BACKENDS`) under ``root``."""
    urls = {
        "memory": "memory://",
        "qdrant": f"qdrant://{root / 'qdrant'}",
        "chroma": f"chroma://{root / 'chroma'}",
        "milvus": f"milvus://{root / 'milvus.db'}",
    }
    try:
        return urls[backend]
    except KeyError:
        raise ValueError(f"unknown local backend {backend!r}: use one of {LOCAL_BACKENDS}") from None


class _Closable(Protocol):
    def close(self) -> Any: ...


C = TypeVar("C", bound=_Closable)


@contextmanager
def closing_all(factory: Callable[..., C]) -> Iterator[Callable[..., C]]:
    """A factory whose products are all closed (newest first) when the block ends."""
    opened: list[C] = []

    def make(*args: Any, **kwargs: Any) -> C:
        obj = factory(*args, **kwargs)
        opened.append(obj)
        return obj

    try:
        yield make
    finally:
        for obj in reversed(opened):
            obj.close()


__all__ = ["LOCAL_BACKENDS", "closing_all", "local_store_url"]
