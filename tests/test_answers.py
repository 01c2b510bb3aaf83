"""Answers: the sans-I/O core and the support check on hand-written answers, then the real local
model (SmolLM2-135M-Instruct through llama-cpp-python) end to end: answer, abstain, stream, a
tiny context window, `vecctx ask`, and aanswer over the OpenAI-compatible server.

Model calls are few and short (a few dozen tokens each, one thread)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Self, Unpack

import pytest

import vecctx
from tests._cli import run_vecctx
from tests._llm_server import llm_server, v1_url
from vecctx import AsyncMemoryStore, Augmenter, Hit, ScoreKind
from vecctx.answers import (
    Answer,
    AnswerPendingError,
    SupportThresholds,
    check_support,
    is_abstention,
    measure_support,
)
from vecctx.answers.core import (
    ABSTAIN_INSTRUCTION,
    CHAT_TOKENS_PER_MESSAGE,
    CHAT_TOKENS_REPLY,
    prompt_budget,
)
from vecctx.answers.support import content_words, judge_messages, lexical_support, parse_judgement
from vecctx.chunking import Document
from vecctx.contract.errors import ConfigError, InvalidInputError
from vecctx.llm import AsyncOpenAIChat, LlamaCppLLM
from vecctx.llm.base import Chunk, Completion, GenerateOptions, Usage
from vecctx.loaders import data_root
from vecctx.prompt import assemble_prompt
from vecctx.prompt.citations import check_citations
from vecctx.prompt.template import DEFAULT_TEMPLATE, ChatMessage
from vecctx.prompt.tokens import TokenCounter, get_counter
from vecctx.testing.servers import ServerProcess

__all__ = ["llm_server"]  # the module-scoped server fixture, used by name below

STAGES = ("retrieve_ms", "rerank_ms", "assemble_ms", "generate_ms", "support_ms", "total_ms")

# -- the sans-I/O parts on hand-written answers ------------------------------------------------


def _prompt(*passages: str) -> vecctx.AugmentedPrompt:
    hits = [
        Hit(id=f"p{i}", score=1.0, relevance=1.0, kind=ScoreKind.COSINE, text=t)
        for i, t in enumerate(passages)
    ]
    return assemble_prompt("q", hits, budget=4000, dedupe_threshold=None)


PASSAGES = (
    "Vitamin B12 deficiency raises plasma homocysteine concentrations in elderly adults.",
    "Aspirin lowers the risk of colorectal adenomas in patients with previous colorectal cancer.",
)


def test_citation_report_names_the_sentences_citing_nothing() -> None:
    prompt = _prompt(*PASSAGES)
    text = (
        "Vitamin B12 deficiency raises homocysteine. [1] Aspirin lowers adenoma risk [2].\n"
        "This sentence cites nothing. This one cites a missing source [7]. Both agree.[1][2]"
    )
    report = check_citations(text, prompt)
    sentences = [(s.claim, s.numbers) for s in report.sentences]
    assert sentences == [
        ("Vitamin B12 deficiency raises homocysteine.", (1,)),  # the marker after the stop is its own
        ("Aspirin lowers adenoma risk.", (2,)),
        ("This sentence cites nothing.", ()),
        ("This one cites a missing source.", ()),
        ("Both agree.", (1, 2)),
    ]
    assert [s.text for s in report.uncited_sentences] == [
        "This sentence cites nothing.",
        "This one cites a missing source [7].",
    ]
    assert [m.text for m in report.invalid_markers] == ["[7]"] and report.uncited == []
    for s in report.sentences:
        assert text[s.start : s.end] == s.text
    assert check_citations("", prompt).sentences == []
    only = check_citations("[2]", prompt).sentences
    assert [(s.text, s.numbers, s.claim) for s in only] == [("[2]", (2,), "")]


def test_support_of_hand_written_sentences() -> None:
    sources = _prompt(*PASSAGES).sources
    text = (
        "Vitamin B12 deficiency raises homocysteine concentrations [1]. "
        "Aspirin cures influenza in children within two days [2]. "
        "Homocysteine is an amino acid. "
        "The source is [1]."
    )
    rows = check_support(text, sources)
    assert [r.sources for r in rows] == [(1,), (2,), (), (1,)]
    supported, unsupported, uncited, empty = rows
    assert supported.lexical == 1.0 and supported.supported is True
    assert unsupported.lexical is not None and unsupported.lexical < 0.5 and unsupported.supported is False
    assert (uncited.lexical, uncited.embedding, uncited.supported) == (None, None, None)
    assert (empty.lexical, empty.supported) == (None, None)  # a marker but no claim: nothing to check
    assert supported.embedding is None and supported.judge is None  # neither asked for
    # citing the wrong source is caught too
    wrong = check_support("Vitamin B12 deficiency raises homocysteine concentrations [2].", sources)
    assert wrong[0].supported is False
    assert content_words("The rates of studies were 42%") == {"rate", "study", "42"}
    assert lexical_support("the of and", ["anything"]) == 0.0


def test_embedding_support_and_thresholds() -> None:
    emb = vecctx.HashingEmbedder(dimension=256)
    sources = _prompt(*PASSAGES).sources
    rows = measure_support(
        "Vitamin B12 deficiency raises homocysteine [1]. Aspirin cures influenza [1][2].",
        sources,
        embedder=emb,
    )
    first, second = rows
    assert first.embedding is not None and second.embedding is not None
    assert -1.0 <= second.embedding < first.embedding <= 1.0
    strict = measure_support(
        "Vitamin B12 deficiency raises homocysteine [1].",
        sources,
        embedder=emb,
        thresholds=SupportThresholds(lexical=0.5, embedding=0.99, embedding_alone=1.0),
    )
    assert strict[0].lexical == 1.0 and strict[0].supported is False  # the embedding floor decides
    with pytest.raises(ConfigError):
        SupportThresholds(lexical=2.0)


class ScriptedLLM:
    """Implements the LLM protocol with canned replies (shape tests only; the model tests below
    use LlamaCppLLM). Replies are taken in order; streams yield them word by word."""

    def __init__(self, *replies: str, context_window: int = 4096) -> None:
        self.replies = list(replies)
        self.calls: list[list[ChatMessage]] = []
        self._window = context_window

    @property
    def name(self) -> str:
        return "scripted"

    @property
    def context_window(self) -> int:
        return self._window

    @property
    def counter(self) -> TokenCounter:
        return get_counter("whitespace")

    def _reply(self, messages: Sequence[ChatMessage], options: GenerateOptions) -> Completion:
        self.calls.append(list(messages))
        text = self.replies.pop(0)
        usage = Usage(sum(len(m["content"].split()) for m in messages), len(text.split()))
        return Completion(text, usage, "stop", self.name, 0.0)

    def complete(self, messages: Sequence[ChatMessage], **options: Unpack[GenerateOptions]) -> Completion:
        return self._reply(messages, options)

    def stream(self, messages: Sequence[ChatMessage], **options: Unpack[GenerateOptions]) -> Iterator[Chunk]:
        done = self._reply(messages, options)
        words = done.text.split(" ")
        for i, word in enumerate(words):
            yield Chunk(word if i == 0 else " " + word)
        yield Chunk("", done)

    def close(self) -> None:
        pass

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        pass


def _toy_augmenter() -> Augmenter:
    from tests.test_retrieval import BagEmbedder, _store

    return Augmenter(store=_store(), collection="docs", embedder=BagEmbedder(), k=2)


def test_answer_shape_with_a_judge_and_the_stream_protocol() -> None:
    llm = ScriptedLLM("Cherry date elder [1]. Fig [2].", "yes", "No.")
    answer = _toy_augmenter().answer("cherry date", llm=llm, judge=True, max_tokens=20)
    assert [s.judge for s in answer.support] == [True, False]  # one judge call per cited sentence
    assert [s.supported for s in answer.support] == [True, False]  # the verdict decides
    assert "Does the passage support the sentence?" in llm.calls[1][-1]["content"]
    assert answer.unsupported == [answer.support[1]]
    assert set(STAGES) <= set(answer.timings) and answer.model == "scripted"
    assert json.loads(json.dumps(answer.to_dict()))["citations"]["cited"] == [1, 2]

    stream = _toy_augmenter().stream_answer("cherry date", llm=ScriptedLLM("Cherry date [1]."))
    assert stream.prompt.sources  # known before the first piece
    with pytest.raises(AnswerPendingError):
        _ = stream.answer
    pieces = list(stream)
    assert "".join(pieces) == "Cherry date [1]." and len(pieces) == 3
    assert stream.answer.text == "Cherry date [1]." and "first_token_ms" in stream.answer.timings
    result = _toy_augmenter().stream_answer("fig", llm=ScriptedLLM("I don't know.")).result()
    assert result.abstained and result.citations.markers == []


def test_parse_judgement_and_messages() -> None:
    for reply, verdict in (
        ("Yes.", True),
        (" no, it does not", False),
        ("YES", True),
        ("Maybe", None),
        ("", None),
    ):
        assert parse_judgement(reply) is verdict
    sources = _prompt(*PASSAGES).sources
    row = check_support("B12 raises homocysteine [1].", sources)[0]
    content = judge_messages(row, sources)[-1]["content"]
    assert "[1]" not in content and PASSAGES[0] in content and "B12 raises homocysteine" in content


@pytest.mark.parametrize(
    ("text", "abstained"),
    [
        ("I don't know", True),
        ("i dont know.", True),
        ("I don\u2019t know!", True),
        ("  I do not know [1]. The sources do not say.", True),
        ("I don't know why, but aspirin helps [2].", False),
        ("Aspirin helps. I don't know more.", False),
        ('The answer is "I don\'t know".', True),  # how SmolLM2 declines
        ('A: The answer is "I don\'t know".', True),
        ("I'm not sure.", True),
        ("The answer is no.", False),
        ("A lot is known.", False),
        ("", False),
    ],
)
def test_abstention_is_a_normalised_match(text: str, abstained: bool) -> None:
    assert is_abstention(text) is abstained


def test_budget_leaves_room_for_the_answer_and_the_chat_template() -> None:
    overhead = 2 * CHAT_TOKENS_PER_MESSAGE + CHAT_TOKENS_REPLY
    assert prompt_budget(2048, 256, DEFAULT_TEMPLATE) == 2048 - 256 - overhead
    assert prompt_budget(2048, 256, DEFAULT_TEMPLATE, budget=500) == 500
    with pytest.raises(ConfigError, match="leaves no room"):
        prompt_budget(512, 512, DEFAULT_TEMPLATE)
    with pytest.raises(InvalidInputError, match="unknown answer option"):
        _toy_augmenter().answer("fig", llm=ScriptedLLM("x"), max_token=3)  # type: ignore[call-arg]
    with pytest.raises(InvalidInputError):
        _toy_augmenter().answer("fig", llm=ScriptedLLM("x"), abstain="yes")  # type: ignore[arg-type]


# -- the real local model ------------------------------------------------------------------------

SCIFACT_IDS = ("5152028", "11705328", "12580014", "31715818", "13734012", "4983")
QUESTION = "Does a deficiency of vitamin B12 increase blood levels of homocysteine?"
RELEVANT = {"5152028", "11705328"}  # the abstracts SciFact judges for this claim (query 36)


def _scifact_docs() -> list[Document]:
    docs = []
    with (data_root() / "scifact" / "corpus.jsonl").open() as f:
        for line in f:
            d = json.loads(line)
            if d["_id"] in SCIFACT_IDS:
                docs.append(Document(d["_id"], f"{d['title']}\n\n{d['text']}", {"title": d["title"]}))
    assert len(docs) == len(SCIFACT_IDS)
    return docs


@pytest.fixture(scope="module")
def scifact() -> Iterator[tuple[vecctx.MemoryStore, Any]]:
    """A memory:// collection "sci" of six SciFact abstracts, embedded with the offline MiniLM."""
    emb = vecctx.default_embedder()
    store = vecctx.MemoryStore()
    vecctx.Ingestor(store, "sci", embedder=emb).ingest(_scifact_docs())
    yield store, emb
    store.close()


@pytest.fixture(scope="module")
def local() -> Iterator[LlamaCppLLM]:
    with LlamaCppLLM() as llm:
        yield llm


def _check_answer(answer: Answer, llm: LlamaCppLLM, max_tokens: int) -> None:
    assert answer.text and answer.sources and answer.model == llm.name
    assert answer.usage.prompt_tokens > 0 and answer.usage.completion_tokens > 0
    assert answer.usage.prompt_tokens + max_tokens <= llm.context_window
    for stage in STAGES:
        assert answer.timings[stage] >= 0.0, stage
    assert answer.timings["generate_ms"] > 0.0
    assert answer.prompt.counter == llm.counter.name  # assembled with the model's own tokenizer
    # the report is the checker's on the text, and covers every sentence
    again = check_citations(answer.text, answer.prompt)
    assert answer.citations.cited == again.cited and answer.citations.invalid == again.invalid
    assert sorted(answer.citations.cited + answer.citations.uncited) == list(
        range(1, len(answer.sources) + 1)
    )
    assert [s.sentence for s in answer.support] == [s.text for s in answer.citations.sentences]
    assert answer.abstained is is_abstention(answer.text)


def test_answer_from_the_local_model(scifact: tuple[vecctx.MemoryStore, Any], local: LlamaCppLLM) -> None:
    store, emb = scifact
    aug = Augmenter(store=store, collection="sci", embedder=emb, k=2)
    answer = aug.answer(QUESTION, llm=local, max_tokens=40, budget=700)
    _check_answer(answer, local, 40)
    assert answer.prompt.token_count <= 700
    assert answer.sources[0].doc_id in RELEVANT
    for s in answer.support:  # measured wherever a source is cited, with the embedder given
        assert (s.embedding is not None) == (s.supported is not None)


def test_cite_makes_the_local_model_cite_valid_sources(
    scifact: tuple[vecctx.MemoryStore, Any], local: LlamaCppLLM
) -> None:
    """Unconstrained, SmolLM2-135M writes no marker; with ``cite`` every sentence of its answer
    ends with a valid citation (constrained decoding), or it says it does not know."""
    store, emb = scifact
    aug = Augmenter(store=store, collection="sci", embedder=emb, k=2)
    answer = aug.answer(QUESTION, llm=local, max_tokens=120, budget=700, cite=True)
    _check_answer(answer, local, 120)
    assert answer.finish_reason == "stop", answer.text
    if not answer.abstained:
        assert answer.citations.cited and not answer.citations.invalid, answer.text
        assert not answer.citations.uncited_sentences, answer.text
        assert all(s.supported is not None for s in answer.support)  # each sentence's source is measured


def test_abstain_on_a_question_the_sources_do_not_cover(
    scifact: tuple[vecctx.MemoryStore, Any], local: LlamaCppLLM
) -> None:
    store, emb = scifact
    aug = Augmenter(store=store, collection="sci", embedder=emb, k=2)
    answer = aug.answer(
        "What is the boiling point of liquid nitrogen?", llm=local, max_tokens=24, abstain=True, budget=600
    )
    _check_answer(answer, local, 24)
    assert answer.prompt.messages[-1]["content"].endswith(ABSTAIN_INSTRUCTION)
    assert ABSTAIN_INSTRUCTION not in aug.augment("x").prompt  # only when asked


def test_streamed_answer_has_the_same_shape(
    scifact: tuple[vecctx.MemoryStore, Any], local: LlamaCppLLM
) -> None:
    store, emb = scifact
    aug = Augmenter(store=store, collection="sci", embedder=emb, k=2)
    with aug.stream_answer(QUESTION, llm=local, max_tokens=32, budget=600) as stream:
        sources = [s.id for s in stream.prompt.sources]
        pieces = list(stream)
    answer = stream.answer
    _check_answer(answer, local, 32)
    assert len(pieces) > 1 and "".join(pieces).strip() == answer.text
    assert [s.id for s in answer.sources] == sources
    assert 0.0 < answer.timings["first_token_ms"] <= answer.timings["generate_ms"]


def test_a_tiny_window_packs_fewer_sources_never_overflows(scifact: tuple[vecctx.MemoryStore, Any]) -> None:
    store, emb = scifact
    aug = Augmenter(store=store, collection="sci", embedder=emb, k=3)
    with LlamaCppLLM(n_ctx=512) as tiny:
        answer = aug.answer(QUESTION, llm=tiny, max_tokens=16)
        _check_answer(answer, tiny, 16)
        assert answer.prompt.budget == 512 - 16 - 2 * CHAT_TOKENS_PER_MESSAGE - CHAT_TOKENS_REPLY
        assert len(answer.sources) < 3 or any(s.truncated for s in answer.sources)
        assert "budget" in answer.prompt.drop_reasons or any(s.truncated for s in answer.sources)
        assert tiny.prompt_tokens(answer.prompt.messages) + 16 <= 512


def test_aanswer_over_the_openai_compatible_server(
    scifact: tuple[vecctx.MemoryStore, Any], local: LlamaCppLLM, llm_server: ServerProcess
) -> None:
    store, emb = scifact
    aug = Augmenter(async_store=AsyncMemoryStore(store), collection="sci", embedder=emb, k=2)

    async def go() -> tuple[Answer, list[str], Answer]:
        async with AsyncOpenAIChat(
            v1_url(llm_server), "smollm2", api_key="unused", context_window=2048, counter=local.counter
        ) as llm:
            answer = await aug.aanswer(QUESTION, llm=llm, max_tokens=24, budget=600)
            async with await aug.astream_answer(QUESTION, llm=llm, max_tokens=16, budget=600) as stream:
                pieces = [piece async for piece in stream]
            return answer, pieces, stream.answer

    answer, pieces, streamed = asyncio.run(go())
    for a in (answer, streamed):
        assert a.text and a.model and a.usage.completion_tokens > 0
        assert a.sources[0].doc_id in RELEVANT and set(STAGES) <= set(a.timings)
        assert a.abstained is is_abstention(a.text)
    assert "".join(pieces).strip() == streamed.text and "first_token_ms" in streamed.timings


# -- vecctx ask ---------------------------------------------------------------------------------


def test_vecctx_ask_end_to_end(tmp_path: Path) -> None:
    corpus = tmp_path / "sci.jsonl"
    corpus.write_text("".join(json.dumps({"id": d.id, "text": d.text}) + "\n" for d in _scifact_docs()))
    url = f"qdrant:///{tmp_path}/store"
    ing = run_vecctx(["ingest", str(corpus), "--store", url, "--collection", "sci"], tmp_path)
    assert ing.returncode == 0, ing.stderr
    proc = run_vecctx(
        ["ask", QUESTION, "--store", url, "--collection", "sci", "--k", "2", "--max-tokens", "120"], tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    text, _, report = proc.stdout.partition("\n\nSources\n")
    assert text.strip() and report, proc.stdout
    lines = report.splitlines()
    assert lines[0].split(":")[0] in {f"  [1] {doc}" for doc in RELEVANT} and lines[1].startswith("  [2] ")
    # the printed summary is the checker's report on the printed answer
    numbers = sorted({int(n) for n in re.findall(r"\[(\d+)\]", text)})
    citations = next(line for line in lines if line.startswith("citations:"))
    valid = [n for n in numbers if 1 <= n <= 2]
    assert f"citing {valid or 'no source'};" in citations, (text, citations)
    assert ("citing nothing: none;" in citations) == all(1 <= n <= 2 for n in numbers)
    # the local model is constrained to cite (--cite is its default): valid citations, or no answer
    assert (numbers and all(1 <= n <= 2 for n in numbers)) or text.strip() == "I don't know.", text
    assert any(line.startswith("support: ") for line in lines)
    assert "SmolLM2" in lines[-1] and "prompt +" in lines[-1]
    print(proc.stdout)  # shown with -s: what the offline model answered


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--store", "memory://", "--collection", "absent"], "collection 'absent' does not exist"),
        (["--store", "memory://", "--llm", "ftp://x"], "unknown LLM URL scheme"),
    ],
)
def test_vecctx_ask_user_errors_are_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    proc = run_vecctx(["ask", "q", *args], tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vecctx: error:") and message in lines[0], proc.stderr
