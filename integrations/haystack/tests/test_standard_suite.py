"""Haystack's own standard document-store suite (``haystack.testing.document_store`` and its
async twin), run unchanged against ``VecctxDocumentStore`` on every backend in ``BACKENDS``.

Overridden, as the suite asks implementations to:

* ``test_write_documents`` (and its async twin): the suite leaves the default policy to the
  store; here ``DuplicatePolicy.NONE`` means ``FAIL``, as in Haystack's in-memory store.
* ``assert_documents_are_equal``: stores return documents in no set order and keep embeddings
  as float32; the override sorts by id and compares every field exactly, except embeddings,
  which must equal the originals within float32 rounding (relative 1e-6).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from haystack import Document
from haystack.document_stores.errors import DuplicateDocumentError
from haystack.document_stores.types import DuplicatePolicy
from haystack.testing.document_store import (
    CountDocumentsByFilterTest,
    CountUniqueMetadataByFilterTest,
    DocumentStoreBaseExtendedTests,
    GetMetadataFieldMinMaxTest,
    GetMetadataFieldsInfoTest,
    GetMetadataFieldUniqueValuesTest,
)
from haystack.testing.document_store_async import (
    CountDocumentsAsyncTest,
    CountDocumentsByFilterAsyncTest,
    CountUniqueMetadataByFilterAsyncTest,
    DeleteAllAsyncTest,
    DeleteByFilterAsyncTest,
    DeleteDocumentsAsyncTest,
    FilterDocumentsAsyncTest,
    GetMetadataFieldMinMaxAsyncTest,
    GetMetadataFieldsInfoAsyncTest,
    GetMetadataFieldUniqueValuesAsyncTest,
    UpdateByFilterAsyncTest,
    WriteDocumentsAsyncTest,
)
from vecctx_haystack import VecctxDocumentStore


def assert_same_documents(received: list[Document], expected: list[Document]) -> None:
    """Equal as sets of documents: every field exact, embeddings within float32 rounding."""
    assert sorted(d.id for d in received) == sorted(d.id for d in expected)
    got = {d.id: d for d in received}
    for want in expected:
        have = got[want.id]
        if want.embedding is None:
            assert have.embedding is None, f"embedding of {want.id}"
        else:
            assert have.embedding is not None, f"embedding of {want.id}"
            np.testing.assert_allclose(have.embedding, want.embedding, rtol=1e-6, atol=1e-7)
        have_dict = have.to_dict(flatten=False)
        want_dict = want.to_dict(flatten=False)
        have_dict.pop("embedding")
        want_dict.pop("embedding")
        assert have_dict == want_dict


class _Fixture:
    @pytest.fixture
    def document_store(self, url: str) -> Iterator[VecctxDocumentStore]:
        """``url`` (conftest) is parametrized over the four backends, each in a fresh tmp_path."""
        ds = VecctxDocumentStore(url, collection="haystack", embedding_dim=768)
        yield ds
        ds.close()

    @staticmethod
    def assert_documents_are_equal(received: list[Document], expected: list[Document]) -> None:
        assert_same_documents(received, expected)


class TestStandardSuite(
    _Fixture,
    DocumentStoreBaseExtendedTests,
    CountDocumentsByFilterTest,
    CountUniqueMetadataByFilterTest,
    GetMetadataFieldsInfoTest,
    GetMetadataFieldMinMaxTest,
    GetMetadataFieldUniqueValuesTest,
):
    """Count, Write, Delete, Filter, DeleteAll, DeleteByFilter, UpdateByFilter, and the optional
    CountByFilter, CountUniqueMetadata, GetMetadataFieldsInfo, MinMax and UniqueValues."""

    def test_write_documents(self, document_store: VecctxDocumentStore) -> None:  # type: ignore[override]
        doc = Document(content="test doc")
        assert document_store.write_documents([doc]) == 1
        with pytest.raises(DuplicateDocumentError):
            document_store.write_documents([doc])  # NONE means FAIL
        assert document_store.write_documents([doc], policy=DuplicatePolicy.SKIP) == 0
        self.assert_documents_are_equal(document_store.filter_documents(), [doc])


class TestStandardSuiteAsync(
    _Fixture,
    CountDocumentsAsyncTest,
    WriteDocumentsAsyncTest,
    DeleteDocumentsAsyncTest,
    FilterDocumentsAsyncTest,
    DeleteAllAsyncTest,
    DeleteByFilterAsyncTest,
    UpdateByFilterAsyncTest,
    CountDocumentsByFilterAsyncTest,
    CountUniqueMetadataByFilterAsyncTest,
    GetMetadataFieldsInfoAsyncTest,
    GetMetadataFieldMinMaxAsyncTest,
    GetMetadataFieldUniqueValuesAsyncTest,
):
    """The async mixins: the same store, its ``*_async`` methods."""

    @pytest.mark.asyncio
    async def test_write_documents_async(self, document_store: VecctxDocumentStore) -> None:  # type: ignore[override]
        doc = Document(content="test doc")
        assert await document_store.write_documents_async([doc]) == 1
        with pytest.raises(DuplicateDocumentError):
            await document_store.write_documents_async([doc])  # NONE means FAIL
        self.assert_documents_are_equal(await document_store.filter_documents_async(), [doc])
