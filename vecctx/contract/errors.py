"""One error hierarchy for every backend.

Every exception vecctx raises derives from :class:`VecctxError`. Backend exceptions are
wrapped (the original is kept as ``__cause__`` and as ``.original``) so user code never
has to import a backend client to catch an error.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote


class VecctxError(Exception):
    """Root of every error raised by vecctx."""


class ConfigError(VecctxError):
    """A URL, option or collection spec is wrong, or an adapter is not installed."""


class StoreLockedError(ConfigError):
    """The store's directory is already opened by another process or handle."""

    def __init__(self, path: str, detail: str = "") -> None:
        self.path = path
        msg = f"store at {path!r} is locked: another process or handle has it open"
        if detail:
            msg += f" ({detail})"
        super().__init__(msg)


class UnsupportedFeatureError(VecctxError):
    """The backend cannot do what was asked (checked before any I/O)."""


class NotFoundError(VecctxError):
    """A collection (or other named object) does not exist."""


class CollectionNotFoundError(NotFoundError):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"collection {name!r} does not exist")


class InvalidInputError(VecctxError, ValueError):
    """A record, query or argument is malformed; nothing was written."""


class DimensionMismatchError(InvalidInputError):
    def __init__(self, expected: int, got: int, where: str = "vector") -> None:
        self.expected = expected
        self.got = got
        super().__init__(f"{where} has dimension {got}, collection expects {expected}")


class InvalidFilterError(InvalidInputError):
    """A filter is malformed. ``path`` points at the offending node, e.g. ``$.$or[1].year``."""

    def __init__(self, message: str, path: str = "$") -> None:
        self.path = path
        super().__init__(f"invalid filter at {path}: {message}")


class StoreClosedError(VecctxError):
    """The store was closed; open a new one."""


class BackendError(VecctxError):
    """The backend failed. ``original`` is the backend's own exception."""

    def __init__(self, message: str, original: BaseException | None = None) -> None:
        self.original = original
        super().__init__(message)


class TransientBackendError(BackendError):
    """A failure that may succeed when retried (connection refused, timeout, unavailable)."""


class LLMError(BackendError):
    """A language model failed to answer (the server's or runtime's error is ``original``)."""


class RateLimitError(LLMError, TransientBackendError):
    """The model's server refused the call for now (HTTP 429); a retry later may succeed.
    ``retry_after`` is the server's hint in seconds, when it gave one."""

    def __init__(self, message: str, original: BaseException | None = None, retry_after: float | None = None):
        self.retry_after = retry_after
        super().__init__(message, original)


class ContextOverflowError(LLMError, InvalidInputError):
    """The prompt and the answer's token allowance exceed the model's context window."""


class RefusalError(LLMError):
    """The model (or its server's moderation) refused to answer."""


class RetryDeadlineError(TransientBackendError):
    """A call kept failing transiently until its retry deadline (see :mod:`vecctx.retry`).

    ``operation`` names the call, ``target`` the backend (its URL without credentials),
    ``attempts`` and ``elapsed_s`` what was tried; ``original`` (also ``__cause__``) is the
    last transient failure.
    """

    def __init__(
        self,
        *,
        operation: str,
        target: str,
        attempts: int,
        elapsed_s: float,
        deadline_s: float,
        original: BaseException,
        redact: Sequence[str] = (),
    ) -> None:
        self.operation = operation
        self.target = target
        self.attempts = attempts
        self.elapsed_s = elapsed_s
        self.deadline_s = deadline_s
        where = f" on {target}" if target else ""
        msg = (
            f"{operation}{where} failed after {attempts} attempt{'s' if attempts != 1 else ''} "
            f"over {elapsed_s:.1f}s (retry deadline {deadline_s:g}s): {original}"
        )
        super().__init__(mask(msg, redact), original)


def mask(text: str, secrets: Sequence[str]) -> str:
    """``text`` with every (non-empty) secret in it, as it is or percent-encoded (as a URL or a
    server's echo of one shows it), replaced by ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***").replace(quote(secret, safe=""), "***")
    return text


__all__ = [
    "ContextOverflowError",
    "LLMError",
    "RateLimitError",
    "RefusalError",
    "BackendError",
    "CollectionNotFoundError",
    "ConfigError",
    "DimensionMismatchError",
    "InvalidFilterError",
    "InvalidInputError",
    "NotFoundError",
    "RetryDeadlineError",
    "StoreClosedError",
    "StoreLockedError",
    "TransientBackendError",
    "UnsupportedFeatureError",
    "VecctxError",
    "mask",
]
