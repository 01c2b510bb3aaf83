"""What every client checks before a call, written once: the chat messages and the generation
options (:class:`~vecctx.llm.base.GenerateOptions`) resolved to their defaults."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from vecctx.contract.errors import ContextOverflowError, InvalidInputError
from vecctx.contract.validation import check_count
from vecctx.llm.base import GenerateOptions
from vecctx.prompt.template import ChatMessage

#: The answer's token allowance when the caller gives none.
DEFAULT_MAX_TOKENS = 256

_ROLES = ("system", "user", "assistant")


@dataclass(frozen=True, slots=True)
class Options:
    """:class:`~vecctx.llm.base.GenerateOptions` checked, with the defaults filled in."""

    max_tokens: int
    temperature: float
    stop: tuple[str, ...]
    grammar: str | None


def resolve_options(options: GenerateOptions) -> Options:
    """The options checked (bad values raise :class:`InvalidInputError`), defaults filled in."""
    unknown = set(options) - set(GenerateOptions.__annotations__)
    if unknown:
        raise InvalidInputError(f"unknown generation option(s): {', '.join(sorted(unknown))}")
    max_tokens = check_count(options.get("max_tokens", DEFAULT_MAX_TOKENS), "max_tokens", minimum=1)
    temperature = options.get("temperature", 0.0)
    if (
        not isinstance(temperature, int | float)
        or isinstance(temperature, bool)
        or not math.isfinite(temperature)
        or temperature < 0
    ):
        raise InvalidInputError(f"temperature must be a finite number >= 0, got {temperature!r}")
    stop = options.get("stop", ())
    if isinstance(stop, str) or not all(isinstance(s, str) and s for s in stop):
        raise InvalidInputError(f"stop must be a sequence of non-empty strings, got {stop!r}")
    cite = options.get("cite_sources")
    grammar = None if cite is None else citation_grammar(check_count(cite, "cite_sources", minimum=1))
    return Options(max_tokens=max_tokens, temperature=float(temperature), stop=tuple(stop), grammar=grammar)


#: Sentences a cited answer may have, and the characters one may hold (no brackets, full stops or
#: line breaks inside a sentence: its citation closes it).
MAX_CITED_SENTENCES = 4
_SENTENCE_CHARS = (8, 400)


def citation_grammar(n_sources: int) -> str:
    """The GBNF grammar of an answer whose every sentence ends with a citation ``[i]`` of one of
    ``n_sources`` sources (at most :data:`MAX_CITED_SENTENCES` sentences), or that is exactly
    "I don't know."; vecctx writes it, so it always parses."""
    if n_sources > 99:
        raise InvalidInputError(f"cite_sources must be at most 99, got {n_sources}")
    low, high = _SENTENCE_CHARS
    sources = " | ".join(f'"{i}"' for i in range(1, n_sources + 1))
    return "\n".join(
        [
            f'root ::= "I don\'t know." | sentence (" " sentence){{0,{MAX_CITED_SENTENCES - 1}}}',
            f'sentence ::= [A-Z0-9] [^\\[\\]\\n.]{{{low},{high}}} " [" source "]."',
            f"source ::= {sources}",
        ]
    )


def check_messages(messages: Sequence[ChatMessage]) -> list[ChatMessage]:
    """``messages`` as a list, each a chat message with a known role and a str content."""
    if isinstance(messages, str | bytes) or not isinstance(messages, Sequence) or not messages:
        raise InvalidInputError("messages must be a non-empty sequence of chat messages")
    checked: list[ChatMessage] = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in _ROLES or not isinstance(m.get("content"), str):
            raise InvalidInputError(
                f"messages[{i}] must be a dict with a role in {_ROLES} and a str content, got {m!r:.80}"
            )
        checked.append({"role": m["role"], "content": m["content"]})
    return checked


def check_fits(prompt_tokens: int, max_tokens: int, context_window: int, model: str) -> None:
    """Raise :class:`ContextOverflowError` unless the prompt and the answer's allowance fit."""
    if prompt_tokens + max_tokens > context_window:
        raise ContextOverflowError(
            f"prompt of {prompt_tokens} tokens plus max_tokens={max_tokens} exceeds the context window "
            f"of {model} ({context_window} tokens)"
        )


__all__ = [
    "DEFAULT_MAX_TOKENS",
    "MAX_CITED_SENTENCES",
    "Options",
    "check_fits",
    "check_messages",
    "citation_grammar",
    "resolve_options",
]
