"""Chunking: offsets, limits with MiniLM's own tokenizer, sentence boundaries, overlap."""

from __future__ import annotations

import itertools
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import vecctx.prompt
from vecctx.chunking import Chunk, Chunker, Document, sentence_ends, sentence_spans
from vecctx.contract.errors import ConfigError, InvalidInputError
from vecctx.embedders import HashingEmbedder, HFTokenizer, RegexTokenizer
from vecctx.embedders.offline import minilm_path
from vecctx.loaders import data_root


@pytest.fixture(scope="module")
def minilm_tok() -> HFTokenizer:
    return HFTokenizer.from_file(str(minilm_path() / "tokenizer.json"))


def _check(doc: Document, chunker: Chunker) -> list[Chunk]:
    chunks = chunker.split(doc)
    for i, c in enumerate(chunks):
        assert c.index == i
        assert c.doc_id == doc.id
        assert doc.text[c.start : c.end] == c.text
        assert chunker.tokenizer.count(c.text) <= chunker.max_tokens
        assert c.n_tokens == chunker.tokenizer.count(c.text)
        assert c.metadata == doc.metadata
    # every token of the document is in some chunk
    covered = [False] * len(doc.text)
    for c in chunks:
        for k in range(c.start, c.end):
            covered[k] = True
    for s, e in chunker.tokenizer.spans(doc.text):
        assert all(covered[s:e]), doc.text[s:e]
    return chunks


def test_sentence_ends() -> None:
    def sentences(t: str, **options: bool) -> list[str]:
        return [t[:e] for e in sentence_ends(t, **options)]

    assert vecctx.prompt.sentence_ends is sentence_ends  # one splitter for chunks and prompts
    assert sentences("Dr. Smith went home. He slept.") == [
        "Dr. Smith went home.",
        "Dr. Smith went home. He slept.",
    ]
    t = "Values were 3.5 and 4.2. Next, e.g. this one; see Li et al. for more. Done?"
    assert sentences(t) == [
        "Values were 3.5 and 4.2.",
        "Values were 3.5 and 4.2. Next, e.g. this one; see Li et al. for more.",
        t,
    ]
    cjk = "\u7b2c\u4e00\u53e5\u3002\u7b2c\u4e8c\u53e5\uff01\u7b2c\u4e09"  # 3 sentences, 2 full stops
    assert sentences(cjk) == [cjk[:4], cjk[:8], cjk]
    assert sentences('He said "stop." Then left.') == ['He said "stop."', 'He said "stop." Then left.']
    assert sentences("Line one\nLine two  ") == ["Line one\n", "Line one\nLine two"]
    assert sentence_ends("") == []
    # The chunker's rule: every full stop before a space ends a sentence, and only blank lines
    # (not single line breaks) do; closing brackets stay with their sentence either way.
    plain = {"abbreviations": False, "line_breaks": False}
    assert sentences("Dr. Smith went home (see Fig. 2.) today\nnext line.\n\nPara.", **plain) == [
        "Dr.",
        "Dr. Smith went home (see Fig.",
        "Dr. Smith went home (see Fig. 2.)",
        "Dr. Smith went home (see Fig. 2.) today\nnext line.",
        "Dr. Smith went home (see Fig. 2.) today\nnext line.\n\n",
        "Dr. Smith went home (see Fig. 2.) today\nnext line.\n\nPara.",
    ]


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, ["First one.", "Second (really)!", "Third?", "Para e.g. two", "lines no end"]),
        (
            {"abbreviations": False, "line_breaks": False},
            ["First one.", "Second (really)!", "Third?", "Para e.g.", "two\nlines no end"],
        ),
    ],
)
def test_sentence_spans(options: dict[str, bool], expected: list[str]) -> None:
    text = "First one. Second (really)! Third?\n\nPara e.g. two\nlines no end"
    assert [text[s:e] for s, e in sentence_spans(text, **options)] == expected


def test_minilm_budget_accounts_for_special_tokens(minilm_tok: HFTokenizer) -> None:
    from vecctx.embedders.sentence_transformers import SentenceTransformerEmbedder

    emb = SentenceTransformerEmbedder()  # not loaded: limits come from the files
    assert emb.max_input_tokens == 256
    assert emb.tokenizer.special_tokens == 2
    ch = Chunker.for_embedder(emb)
    assert ch.max_tokens == 254
    e5 = SentenceTransformerEmbedder(passage_prefix="passage: ", query_prefix="query: ")
    assert Chunker.for_embedder(e5).max_tokens == 254 - minilm_tok.count("passage: ") - 1


def test_scifact_chunks_fit_minilm(minilm_tok: HFTokenizer) -> None:
    ch = Chunker(minilm_tok, max_tokens=254, overlap=32)
    path = data_root() / "scifact" / "corpus.jsonl"
    longest = 0
    n_multi = 0
    with path.open() as fh:
        for _, line in zip(range(200), fh, strict=False):
            row = json.loads(line)
            doc = Document(row["_id"], row["title"] + "\n\n" + row["text"], {"title": row["title"]})
            chunks = _check(doc, ch)
            # with the special tokens, every chunk fits in 256 word pieces
            for c in chunks:
                longest = max(longest, minilm_tok.count(c.text) + minilm_tok.special_tokens)
            n_multi += len(chunks) > 1
    assert longest <= 256
    assert n_multi > 10  # SciFact abstracts do exceed the limit


def test_prefers_sentence_boundaries() -> None:
    tok = RegexTokenizer()
    sentences = [f"Sentence number {i} has exactly eight tokens here." for i in range(10)]  # 8 words + '.'
    text = " ".join(sentences)
    ch = Chunker(tok, max_tokens=30, overlap=0)
    chunks = _check(Document("d", text), ch)
    for c in chunks:
        assert c.text.startswith("Sentence") and c.text.endswith(".")
    assert len(chunks) == 4  # 3 sentences (27 tokens) per chunk, 10 sentences
    assert chunks[0].text == " ".join(sentences[:3])


def test_chunker_packs_sentences_by_its_own_rule() -> None:
    # Every full stop before a space ends a sentence for the chunker (the rule its published
    # SciFact figures were measured with), and a closing bracket stays with its sentence.
    text = "Dr. Smith went home (Fig. 2.) Then he slept."
    chunks = _check(Document("d", text), Chunker(RegexTokenizer(), max_tokens=6))
    assert [c.text for c in chunks] == ["Dr.", "Smith went home (Fig.", "2.)", "Then he slept."]


def test_overlap_repeats_whole_trailing_sentences() -> None:
    tok = RegexTokenizer()
    text = " ".join(f"Short sentence {i}." for i in range(20))  # 4 tokens each
    ch = Chunker(tok, max_tokens=20, overlap=8)
    chunks = _check(Document("d", text), ch)
    for a, b in itertools.pairwise(chunks):
        assert b.start < a.end  # they overlap
        assert a.text.endswith(text[b.start : a.end])
        assert tok.count(text[b.start : a.end]) <= 8
    no_overlap = Chunker(tok, max_tokens=20, overlap=0).split(Document("d", text))
    assert len(no_overlap) < len(chunks)
    assert all(x.end <= y.start for x, y in itertools.pairwise(no_overlap))


def test_long_sentence_is_cut_with_token_overlap() -> None:
    tok = RegexTokenizer()
    text = " ".join(f"w{i}" for i in range(100))  # one sentence, 100 tokens
    ch = Chunker(tok, max_tokens=30, overlap=5)
    chunks = _check(Document("d", text), ch)
    assert len(chunks) == 4
    assert tok.count(text[chunks[1].start : chunks[0].end]) == 5


def test_empty_and_whitespace_documents() -> None:
    ch = Chunker(RegexTokenizer(), max_tokens=10)
    assert ch.split(Document("d", "")) == []
    assert ch.split(Document("d", "   \n\n  ")) == []


def test_bad_arguments() -> None:
    tok = RegexTokenizer()
    with pytest.raises(ConfigError):
        Chunker(tok, max_tokens=0)
    with pytest.raises(ConfigError):
        Chunker(tok, max_tokens=10, overlap=5)
    with pytest.raises(InvalidInputError):
        Chunker(tok, max_tokens=10).split(Document("", "text"))


def test_for_embedder_hashing() -> None:
    ch = Chunker.for_embedder(HashingEmbedder(max_input_tokens=50), overlap=10)
    assert ch.max_tokens == 50 and ch.overlap == 10


words = st.sampled_from(
    ["alpha", "beta", "gamma.", "delta!", "eps?", "zeta,", "\n\n", "über", "x-y", "(a)", "3.14"]
)


@settings(max_examples=150, deadline=None)
@given(st.lists(words, max_size=200), st.integers(4, 40), st.integers(0, 15))
def test_invariants_property(parts: list[str], max_tokens: int, overlap: int) -> None:
    overlap = min(overlap, (max_tokens - 1) // 2)
    text = " ".join(parts)
    _check(Document("d", text, {"k": 1}), Chunker(RegexTokenizer(), max_tokens=max_tokens, overlap=overlap))


@settings(max_examples=60, deadline=None)
@given(st.lists(words, max_size=300), st.integers(8, 60))
def test_invariants_property_minilm(parts: list[str], max_tokens: int) -> None:
    tok = HFTokenizer.from_file(str(minilm_path() / "tokenizer.json"))
    _check(Document("d", " ".join(parts)), Chunker(tok, max_tokens=max_tokens, overlap=max_tokens // 4))
