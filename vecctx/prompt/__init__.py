"""Prompt assembly: a token budget filled with retrieved passages, cited and checked.

One concern a module: :mod:`~vecctx.prompt.template` (layout), :mod:`~vecctx.prompt.escape`
(retrieved text is data), :mod:`~vecctx.prompt.dedupe` (near-duplicates),
:mod:`~vecctx.prompt.packing` (cutting a passage to the budget), :mod:`~vecctx.prompt.assemble`
(the assembler), :mod:`~vecctx.prompt.tokens` (counters), :mod:`~vecctx.prompt.citations`.
The sentence splitter is the chunker's (:func:`vecctx.chunking.sentence_ends`) and the
reordering the reranker's (:func:`vecctx.retrieval.rerank.reorder_lost_in_the_middle`).
"""

from vecctx.chunking import sentence_ends
from vecctx.prompt.assemble import (
    AugmentedPrompt,
    DroppedPassage,
    DropReason,
    PromptAssembler,
    Source,
    assemble_prompt,
)
from vecctx.prompt.dedupe import DedupeIndex, jaccard, near_duplicates, shingles
from vecctx.prompt.escape import escape_passage, neutralise_tags
from vecctx.prompt.template import (
    DEFAULT_SOURCE,
    DEFAULT_SYSTEM,
    DEFAULT_TEMPLATE,
    DEFAULT_USER,
    ChatMessage,
    PromptTemplate,
)
from vecctx.retrieval.rerank import reorder_lost_in_the_middle

__all__ = [
    "DEFAULT_SOURCE",
    "DEFAULT_SYSTEM",
    "DEFAULT_TEMPLATE",
    "DEFAULT_USER",
    "AugmentedPrompt",
    "ChatMessage",
    "DropReason",
    "DedupeIndex",
    "DroppedPassage",
    "PromptAssembler",
    "PromptTemplate",
    "Source",
    "assemble_prompt",
    "escape_passage",
    "jaccard",
    "near_duplicates",
    "neutralise_tags",
    "reorder_lost_in_the_middle",
    "sentence_ends",
    "shingles",
]
