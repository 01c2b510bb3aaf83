"""The ported LlamaIndex vector-store behaviour checks (``vecctx_llamaindex.testing``) on
memory://, Qdrant Edge, Chroma embedded and Milvus Lite, sync and async."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from vecctx_llamaindex import VecctxVectorStore
from vecctx_llamaindex.testing import VectorStoreConformance


class TestVecctxVectorStore(VectorStoreConformance):
    @pytest.fixture
    def vector_store(self, make_store: Callable[..., VecctxVectorStore]) -> Iterator[VecctxVectorStore]:
        yield make_store()
