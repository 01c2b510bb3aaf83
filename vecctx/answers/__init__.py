"""Answers from a language model: retrieve, assemble to the model's window, generate, check.

:meth:`vecctx.Augmenter.answer` (``aanswer``, ``stream_answer``, ``astream_answer``) returns an
:class:`Answer`: the text, the numbered sources, the citation report, the support check of
each sentence (:mod:`vecctx.answers.support`), whether the model abstained, token usage and
the timing of each stage. The logic is written once without I/O (:mod:`vecctx.answers.core`);
the sync and async shells (:mod:`vecctx.answers._async.run`, generated
``vecctx.answers._sync.run``) only call the model.
"""

from vecctx.answers._async.run import AsyncAnswerStream, acheck_support, agenerate_answer
from vecctx.answers._sync.run import AnswerStream, check_support, generate_answer
from vecctx.answers.core import (
    ABSTAIN_ANSWER,
    Answer,
    AnswerJob,
    AnswerOptions,
    AnswerPendingError,
    is_abstention,
    prepare_answer,
)
from vecctx.answers.support import SentenceSupport, SupportThresholds, measure_support

__all__ = [
    "ABSTAIN_ANSWER",
    "Answer",
    "AnswerJob",
    "AnswerOptions",
    "AnswerPendingError",
    "AnswerStream",
    "AsyncAnswerStream",
    "SentenceSupport",
    "SupportThresholds",
    "acheck_support",
    "agenerate_answer",
    "check_support",
    "generate_answer",
    "is_abstention",
    "measure_support",
    "prepare_answer",
]
