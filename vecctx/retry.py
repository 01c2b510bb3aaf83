"""Retrying idempotent backend calls: jittered exponential backoff under an overall deadline.

A driver translates its client's failures into vecctx errors; those that may succeed when
tried again (connection refused or reset, timeouts, "unavailable") are
:class:`~vecctx.contract.errors.TransientBackendError`. :func:`call_with_retry` (and its async twin
:func:`acall_with_retry`, which the store front uses) runs an idempotent call again on such an
error, sleeping ``initial_backoff_s``, then ``multiplier`` times longer each time (at most
``max_backoff_s``, each pause jittered), until it succeeds or ``deadline_s`` has passed since
the first attempt; it then raises :class:`~vecctx.contract.errors.RetryDeadlineError` naming the
operation, the backend, the number of attempts and the time spent, with the last failure as
``__cause__`` and ``.original``. Any other error is raised at once: only transient failures
are retried.

A call is never started after the deadline, but one already running is not interrupted: the
total time is bounded by ``deadline_s`` plus the duration of one attempt (the backend
client's own timeout).

Drivers take a policy from their URL with :func:`parse_retry_options`::

    chroma+http://host:8000?retry_deadline=10&retry_initial_backoff=0.05
    milvus://host:19530?retry_deadline=0          # no retries: fail on the first error
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, replace
from typing import TypeVar

from vecctx.contract.errors import ConfigError, RetryDeadlineError, TransientBackendError, mask

T = TypeVar("T")

#: Overall time, in seconds, one idempotent call keeps retrying.
DEFAULT_DEADLINE_S = 30.0
DEFAULT_INITIAL_BACKOFF_S = 0.1
DEFAULT_MAX_BACKOFF_S = 2.0
DEFAULT_MULTIPLIER = 2.0
DEFAULT_JITTER = 0.5

#: URL query options understood by :func:`parse_retry_options`, and the field each sets.
RETRY_OPTIONS: Mapping[str, str] = {
    "retry_deadline": "deadline_s",
    "retry_initial_backoff": "initial_backoff_s",
    "retry_max_backoff": "max_backoff_s",
    "retry_multiplier": "multiplier",
    "retry_jitter": "jitter",
    "retry_max_attempts": "max_attempts",
}


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How an idempotent call is retried on :class:`~vecctx.contract.errors.TransientBackendError`.

    ``deadline_s``
        overall time from the first attempt after which no new attempt starts (``0``: no
        retries, the first failure is raised as is).
    ``initial_backoff_s``, ``multiplier``, ``max_backoff_s``
        the pause after the n-th failure is ``min(max_backoff_s, initial_backoff_s *
        multiplier ** (n - 1))``, never longer than the time left before the deadline.
    ``jitter``
        in [0, 1]: each pause is drawn uniformly from ``[(1 - jitter) * pause, pause]`` so
        that clients knocked out together do not come back in lock step (1 is "full jitter").
    ``max_attempts``
        optional cap on the number of attempts (``None``: only the deadline limits them).
    """

    deadline_s: float = DEFAULT_DEADLINE_S
    initial_backoff_s: float = DEFAULT_INITIAL_BACKOFF_S
    max_backoff_s: float = DEFAULT_MAX_BACKOFF_S
    multiplier: float = DEFAULT_MULTIPLIER
    jitter: float = DEFAULT_JITTER
    max_attempts: int | None = None

    def __post_init__(self) -> None:
        for name in ("deadline_s", "initial_backoff_s", "max_backoff_s"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
                raise ConfigError(f"RetryPolicy.{name} must be a finite number, got {value!r}")
            if value < 0:
                raise ConfigError(f"RetryPolicy.{name} must be >= 0, got {value!r}")
        if self.max_backoff_s < self.initial_backoff_s:
            raise ConfigError(
                f"RetryPolicy.max_backoff_s ({self.max_backoff_s}) is below "
                f"initial_backoff_s ({self.initial_backoff_s})"
            )
        if (
            not isinstance(self.multiplier, int | float)
            or not self.multiplier >= 1
            or self.multiplier == math.inf
        ):
            raise ConfigError(f"RetryPolicy.multiplier must be a finite number >= 1, got {self.multiplier!r}")
        if not isinstance(self.jitter, int | float) or not 0 <= self.jitter <= 1:
            raise ConfigError(f"RetryPolicy.jitter must be in [0, 1], got {self.jitter!r}")
        if self.max_attempts is not None and (
            not isinstance(self.max_attempts, int)
            or isinstance(self.max_attempts, bool)
            or self.max_attempts < 1
        ):
            raise ConfigError(f"RetryPolicy.max_attempts must be a positive int, got {self.max_attempts!r}")

    @classmethod
    def disabled(cls) -> RetryPolicy:
        """One attempt; a transient failure is raised as is."""
        return cls(deadline_s=0.0)

    @property
    def enabled(self) -> bool:
        return self.deadline_s > 0 and self.max_attempts != 1

    def with_max_attempts(self, n: int | None) -> RetryPolicy:
        return replace(self, max_attempts=n)

    def backoff(self, failures: int, rng: random.Random | None = None) -> float:
        """The jittered pause after ``failures`` consecutive failures (``failures >= 1``)."""
        exp = min(max(failures - 1, 0), 64)
        base = min(self.max_backoff_s, self.initial_backoff_s * self.multiplier**exp)
        if self.jitter <= 0 or base <= 0:
            return base
        u = (rng or _rng).random()
        return base * (1.0 - self.jitter * u)

    def call(
        self,
        fn: Callable[[], T],
        *,
        operation: str,
        target: str = "",
        on_retry: Callable[[TransientBackendError, int], None] | None = None,
        redact: Sequence[str] = (),
    ) -> T:
        """:func:`call_with_retry` with this policy."""
        return call_with_retry(
            fn, policy=self, operation=operation, target=target, on_retry=on_retry, redact=redact
        )


_rng = random.Random()

#: Each retry is logged at INFO on this logger; ``record.vecctx_original`` is the backend's
#: exception that made the call fail.
logger = logging.getLogger("vecctx.retry")


@dataclass(slots=True)
class _Attempts:
    """The bookkeeping of one retried call, shared by :func:`call_with_retry` and
    :func:`acall_with_retry` (generated from one source, they differ only in how they wait)."""

    policy: RetryPolicy
    _: KW_ONLY
    operation: str
    target: str
    redact: Sequence[str]
    clock: Callable[[], float]
    start: float
    failures: int = 0

    def retry(self, exc: TransientBackendError) -> bool:
        """Whether to try again after ``exc``. ``False``: raise ``exc`` as it is (retries are
        off, or it is already a deadline error). Raises :class:`RetryDeadlineError` (caused by
        ``exc``) when no attempt is left; else logs the retry."""
        policy = self.policy
        if isinstance(exc, RetryDeadlineError) or not policy.enabled:
            return False
        self.failures += 1
        elapsed = self.clock() - self.start
        if elapsed >= policy.deadline_s or (
            policy.max_attempts is not None and self.failures >= policy.max_attempts
        ):
            raise RetryDeadlineError(
                operation=self.operation,
                target=self.target,
                attempts=self.failures,
                elapsed_s=elapsed,
                deadline_s=policy.deadline_s,
                original=exc,
                redact=self.redact,
            ) from exc
        self._log(exc, elapsed)
        return True

    def pause(self) -> float:
        """The jittered pause before the next attempt, never past the deadline."""
        left = self.policy.deadline_s - (self.clock() - self.start)
        return min(self.policy.backoff(self.failures), max(left, 0.0))

    def _log(self, exc: TransientBackendError, elapsed: float) -> None:
        if not logger.isEnabledFor(logging.INFO):
            return
        text = mask(str(exc), self.redact)
        logger.info(
            "%s%s failed (attempt %d, %.2fs in): %s; retrying",
            self.operation,
            f" on {self.target}" if self.target else "",
            self.failures,
            elapsed,
            text,
            extra={"vecctx_original": exc.original if exc.original is not None else exc},
        )


def parse_retry_options(options: dict[str, str], *, base: RetryPolicy | None = None) -> RetryPolicy:
    """Pop the ``retry_*`` options (see :data:`RETRY_OPTIONS`) from a URL's query options and
    return the policy they describe (``base``, else the defaults, for the rest). A bad value is
    a :class:`~vecctx.contract.errors.ConfigError`."""
    values: dict[str, float | int | None] = {}
    for key, field_name in RETRY_OPTIONS.items():
        raw = options.pop(key, None)
        if raw is None:
            continue
        if field_name == "max_attempts":
            if raw.strip().lower() in ("", "none"):
                values[field_name] = None
                continue
            try:
                values[field_name] = int(raw)
            except ValueError:
                raise ConfigError(f"URL option {key} must be a positive integer, got {raw!r}") from None
            continue
        try:
            number = float(raw)
        except ValueError:
            raise ConfigError(f"URL option {key} must be a number, got {raw!r}") from None
        values[field_name] = number
    policy = base or RetryPolicy()
    if not values:
        return policy
    initial = values.get("initial_backoff_s")
    if initial is not None and "max_backoff_s" not in values:
        values["max_backoff_s"] = max(policy.max_backoff_s, initial)
    try:
        return replace(policy, **values)  # type: ignore[arg-type]
    except ConfigError as exc:
        raise ConfigError(f"bad retry option in URL: {exc}") from None


# The retry loop itself is written once (vecctx/_async/retry.py, with its generated synchronous
# twin); both use _Attempts above, so they are imported after it.
from vecctx._async.retry import acall_with_retry  # noqa: E402
from vecctx._sync.retry import call_with_retry  # noqa: E402

__all__ = [
    "DEFAULT_DEADLINE_S",
    "RETRY_OPTIONS",
    "RetryDeadlineError",
    "RetryPolicy",
    "acall_with_retry",
    "call_with_retry",
    "parse_retry_options",
]
