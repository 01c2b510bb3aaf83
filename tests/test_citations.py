"""The citation checker and the marker grammar it shares with the assembler's escaping."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vecctx.contract.errors import InvalidInputError
from vecctx.contract.types import Hit, ScoreKind
from vecctx.prompt import AugmentedPrompt, assemble_prompt
from vecctx.prompt.citations import (
    MARKER_RE,
    CitationReport,
    check_citations,
    find_markers,
    neutralise_markers,
    parse_marker,
    replace_markers,
)


def five_source_prompt() -> AugmentedPrompt:
    hits = [
        Hit(
            f"h{i}",
            1.0 - i / 10,
            0.9,
            ScoreKind.COSINE,
            text=f"Passage number {i} says something distinct about topic {i * 7}.",
            metadata={"doc_id": f"d{i}"},
        )
        for i in range(5)
    ]
    p = assemble_prompt("q?", hits, budget=10_000)
    assert len(p.sources) == 5
    return p


def check(answer: str) -> CitationReport:
    return check_citations(answer, five_source_prompt())


def test_simple_and_adjacent_markers() -> None:
    r = check("Claim one [1]. Claim two [2][3].")
    assert [m.text for m in r.markers] == ["[1]", "[2]", "[3]"]
    assert r.cited == [1, 2, 3]
    assert r.uncited == [4, 5]
    assert r.invalid == []
    assert r.ok and r.has_citations
    assert [s.id for s in r.cited_sources] == ["h0", "h1", "h2"]
    assert [s.doc_id for s in r.uncited_sources] == ["d3", "d4"]
    assert r.coverage == pytest.approx(3 / 5)


def test_lists_and_ranges() -> None:
    r = check("A [1, 3]. B [2-4]. C [1\u20132]. D [ 5 ]. E [1;5].")
    assert [m.numbers for m in r.markers] == [(1, 3), (2, 3, 4), (1, 2), (5,), (1, 5)]
    assert r.cited == [1, 2, 3, 4, 5]
    assert r.uncited == []
    assert r.counts == {1: 3, 2: 2, 3: 2, 4: 1, 5: 2}
    assert r.coverage == 1.0


def test_markers_that_cite_nothing() -> None:
    r = check("Real [2]. Invented [7]. Zero [0]. Mixed [1, 9]. Range [4-6].")
    assert r.invalid == [0, 6, 7, 9]
    assert [m.text for m in r.invalid_markers] == ["[7]", "[0]", "[1, 9]", "[4-6]"]
    assert r.cited == [1, 2, 4, 5]
    assert not r.ok
    assert r.markers[0].ok and not r.markers[1].ok


def test_other_marker_shapes() -> None:
    r = check("S [Source 2]. T [source: 3]. U [#4]. V [^5]. W \uff3b1\uff3d. X \u30102\u3011.")
    assert [m.numbers for m in r.markers] == [(2,), (3,), (4,), (5,), (1,), (2,)]


def test_not_markers() -> None:
    # words, empty brackets, code, seven-digit numbers
    answer = "See [a], [], [n], [1a], `x[1]`, [1234567] and\n```\narr[2] = 3\n```\nno citation."
    r = check(answer)
    assert r.markers == []
    assert r.cited == [] and r.uncited == [1, 2, 3, 4, 5]
    assert not r.ok and not r.has_citations


def test_huge_range_is_not_expanded() -> None:
    assert parse_marker("[2-999999]") == (2, 999999)
    r = check("All [2-999999].")
    assert r.cited == [2] and r.invalid == [999999]
    assert parse_marker("[3-1]") == (1, 2, 3)


def test_marker_offsets() -> None:
    answer = "Alpha [1]. Beta [2, 3]."
    ms = find_markers(answer, n_sources=3)
    assert [answer[m.start : m.end] for m in ms] == ["[1]", "[2, 3]"]


def test_empty_prompt_and_bad_input() -> None:
    p = assemble_prompt("q", [], budget=1000)
    r = check_citations("Nothing to cite [1].", p)
    assert r.invalid == [1] and r.cited == [] and r.coverage == 1.0
    with pytest.raises(InvalidInputError):
        check_citations(None, p)  # type: ignore[arg-type]


def test_neutralise_markers_examples() -> None:
    text = "x [1] y [2, 3] z [4-5] w [Source 2] v \u30103\u3011 u [[1]] t [1][2]"
    out = neutralise_markers(text)
    assert out == "x (1) y (2, 3) z (4-5) w (Source 2) v (3) u [(1)] t (1)(2)"
    assert MARKER_RE.search(out) is None
    assert neutralise_markers("arrays a[i] and [note]") == "arrays a[i] and [note]"
    # look-alikes: superscript digits, mathematical brackets, a zero-width space inside
    assert neutralise_markers("x [\u00b9] y \u27e62\u27e7 z [\u200b3]") == "x (\u00b9) y (2) z (\u200b3)"
    # a bracketed Cyrillic word is no marker, even though "\u0455" looks like "s"
    assert neutralise_markers("[\u0455\u043b\u043e\u0432\u043e]") == "[\u0455\u043b\u043e\u0432\u043e]"
    assert replace_markers("a [1] b \uff3b\u00b9\uff3d c [x]", lambda _: "_") == "a _ b _ c [x]"


def test_lookalike_markers_are_read_as_markers() -> None:
    # superscript, full-width and circled digits, look-alike brackets, invisible characters, a
    # Cyrillic letter in the "Source" prefix: the one grammar the assembler neutralises
    r = check(
        "A [\u00b9]. B \uff3b2\uff3d. C [\uff13]. D [4\u200b]. E \u3014\u2464\u3015. "
        "F [\u00b9\u207b\u00b3]. G [\u0405ource 2]. H [\u2776\u00ad]."
    )
    assert [m.numbers for m in r.markers] == [(1,), (2,), (3,), (4,), (5,), (1, 2, 3), (2,), (1,)]
    assert r.markers[0].text == "[\u00b9]" and r.cited == [1, 2, 3, 4, 5]


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=list(
            "[]\uff3b\uff3d\u3010\u3011\u3014\u3015\u27e6\u27e7 0123456789\u00b9\u2082\uff11\u2460"
            ",;-\u2013^#:sourceS\u0405\u200b\u00ad\n"
        ),
        max_size=60,
    )
)
def test_neutralised_text_holds_no_marker(text: str) -> None:
    out = neutralise_markers(text)
    assert MARKER_RE.search(out) is None
    assert find_markers(out, n_sources=0) == []
    assert len(out) == len(text)  # brackets are swapped one for one
