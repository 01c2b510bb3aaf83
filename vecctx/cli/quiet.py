"""Keep the model libraries' own loading messages off the terminal unless ``--verbose``.

transformers draws a "Loading weights" progress bar and logs advisories while a model loads;
huggingface_hub draws download bars; pymilvus logs, at error level, the failed lookups that
vecctx turns into its own errors. The CLI reports what matters itself (how long the model took
to load, one line per error), so these are silenced; ``vecctx --verbose`` keeps them.
"""

from __future__ import annotations

import logging
import os
import sys

#: Environment read by the libraries when they are imported (set only where the user has not).
QUIET_ENV = {
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
}
#: Loggers raised to a level above their noise.
QUIET_LOGGERS = {
    "transformers": logging.ERROR,
    "sentence_transformers": logging.ERROR,
    "huggingface_hub": logging.ERROR,
    "pymilvus": logging.CRITICAL,
}


def quiet_libraries() -> None:
    """Silence the libraries' progress bars and chatter, for the libraries imported later (their
    environment) and for those already imported (their loggers and transformers' bar)."""
    for name, value in QUIET_ENV.items():
        os.environ.setdefault(name, value)
    for name, level in QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(level)
    loaded = sys.modules.get("transformers.utils.logging")
    if loaded is not None and os.environ.get("HF_HUB_DISABLE_PROGRESS_BARS") == "1":
        loaded.disable_progress_bar()


__all__ = ["QUIET_ENV", "QUIET_LOGGERS", "quiet_libraries"]
