"""LangChain's own standard VectorStore suite (``langchain-tests``), unchanged, on real vecctx
stores: memory://, embedded Qdrant Edge, embedded Chroma and Milvus Lite, sync and async.

The async tests run on every backend: through vecctx's natively async store where it has one
(memory://, Milvus Lite), through LangChain's default async methods (the sync method in the
loop's executor) where it has none (Qdrant Edge, embedded Chroma).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

import pytest_asyncio
from langchain_tests.integration_tests import VectorStoreIntegrationTests
from vecctx_langchain import VecctxVectorStore


class TestVecctxStandard(VectorStoreIntegrationTests):
    @pytest_asyncio.fixture(loop_scope="function")
    async def vectorstore(self, url: str, async_native: bool) -> AsyncGenerator[VecctxVectorStore, None]:
        """An empty store on a fresh directory; closed (async store first) after the test."""
        vs = VecctxVectorStore(url, "standard", self.get_embeddings())
        assert vs.async_native is async_native
        try:
            yield vs
        finally:
            await vs.aclose()

    @property
    def has_async(self) -> bool:
        return True
