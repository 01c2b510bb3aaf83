"""Which vecctx store the async methods use: the native async store where the URL has one
(memory://, Milvus Lite), sharing the sync store's data; the sync calls elsewhere."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from llama_index.core.schema import TextNode
from llama_index.core.vector_stores.types import VectorStoreQuery
from vecctx_llamaindex import VecctxVectorStore

import vecctx

NATIVE = {"memory": "AsyncMemoryStore", "milvus": "AsyncMilvusStore"}


def test_async_face_and_shared_data(url: str, make_store: Callable[..., VecctxVectorStore]) -> None:
    vs = make_store()
    vs.add([TextNode(id_="s", text="sync", embedding=[1.0, 0.0])])
    astore = vs._async_client()
    scheme = url.split("://")[0]
    if scheme in NATIVE:
        assert type(astore).__name__ == NATIVE[scheme]
        assert isinstance(astore, vecctx.AsyncVectorStore)
    else:  # embedded Qdrant Edge and embedded Chroma have no native async client
        assert astore is None

    async def main() -> list[str]:
        try:
            await vs.async_add([TextNode(id_="a", text="async", embedding=[0.0, 1.0])])
            res = await vs.aquery(VectorStoreQuery(query_embedding=[1.0, 0.0], similarity_top_k=5))
            return list(res.ids or [])
        finally:
            await vs.aclose()

    assert asyncio.run(main()) == ["s", "a"]  # each face sees the other's writes
