"""Fine-tuning or context? A reproducible study on any BEIR-format data (``vecctx study``).

>>> from vecctx.study import run_study
>>> result = run_study("data/scifact", "data/scifact-train", "study-out", profile="quick")  # doctest: +SKIP

Heavy libraries (torch, sentence-transformers, transformers) load when a run starts, not on
import.
"""

from __future__ import annotations

from vecctx.study.data import Split, StudyData, check_disjoint, load_study_data
from vecctx.study.finetune import TrainConfig, TrainResult, finetune
from vecctx.study.pairs import Example, human_pairs, self_labelled_pairs, synthetic_pairs, synthetic_queries
from vecctx.study.runner import PROFILES, Profile, get_profile, run_study

__all__ = [
    "PROFILES",
    "Example",
    "Profile",
    "Split",
    "StudyData",
    "TrainConfig",
    "TrainResult",
    "check_disjoint",
    "finetune",
    "get_profile",
    "human_pairs",
    "load_study_data",
    "run_study",
    "self_labelled_pairs",
    "synthetic_pairs",
    "synthetic_queries",
]
