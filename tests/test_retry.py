"""The core retry policy (vecctx.retry), with a fake clock: no sleeping, no servers."""

from __future__ import annotations

import asyncio
import inspect
import logging
import random
import time

import pytest

import vecctx
from vecctx.contract.errors import BackendError, ConfigError, RetryDeadlineError, TransientBackendError
from vecctx.retry import RetryPolicy, acall_with_retry, call_with_retry, parse_retry_options


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.now += s


def failing(n: int, exc: BaseException, clock: FakeClock, cost: float = 0.0) -> tuple[list[int], object]:
    calls: list[int] = []

    def fn() -> str:
        calls.append(1)
        clock.now += cost
        if len(calls) <= n:
            raise exc
        return "ok"

    return calls, fn


def test_exports() -> None:
    assert vecctx.RetryPolicy is RetryPolicy
    assert vecctx.RetryDeadlineError is RetryDeadlineError
    assert issubclass(RetryDeadlineError, TransientBackendError)
    for name in ("RetryPolicy", "RetryDeadlineError", "call_with_retry", "acall_with_retry"):
        assert name in vecctx.__all__


def test_defaults() -> None:
    p = RetryPolicy()
    assert (p.deadline_s, p.initial_backoff_s, p.max_backoff_s, p.multiplier) == (30.0, 0.1, 2.0, 2.0)
    assert p.enabled and not RetryPolicy.disabled().enabled


def test_backoff_is_exponential_jittered_and_capped() -> None:
    p = RetryPolicy(initial_backoff_s=0.1, max_backoff_s=1.0, multiplier=2.0, jitter=0.5)
    rng = random.Random(0)
    for failures, base in ((1, 0.1), (2, 0.2), (3, 0.4), (4, 0.8), (5, 1.0), (50, 1.0)):
        for _ in range(20):
            b = p.backoff(failures, rng)
            assert 0.5 * base - 1e-12 <= b <= base + 1e-12
    assert RetryPolicy(jitter=0).backoff(3) == pytest.approx(0.4)


def test_retries_transient_until_success() -> None:
    clock = FakeClock()
    calls, fn = failing(3, TransientBackendError("down"), clock)
    policy = RetryPolicy(jitter=0)
    assert call_with_retry(fn, policy=policy, operation="op", sleep=clock.sleep, clock=clock) == "ok"  # type: ignore[arg-type]
    assert len(calls) == 4
    assert clock.sleeps == pytest.approx([0.1, 0.2, 0.4])


def test_other_errors_are_not_retried() -> None:
    clock = FakeClock()
    calls, fn = failing(5, BackendError("bad request"), clock)
    with pytest.raises(BackendError, match="bad request"):
        call_with_retry(fn, policy=RetryPolicy(), operation="op", sleep=clock.sleep, clock=clock)  # type: ignore[arg-type]
    assert len(calls) == 1 and not clock.sleeps


def test_deadline_error_names_operation_target_attempts_and_hides_secrets() -> None:
    clock = FakeClock()
    original = TransientBackendError("connect refused; token=abc123", ConnectionRefusedError())
    calls, fn = failing(10**6, original, clock, cost=0.3)
    with pytest.raises(RetryDeadlineError) as info:
        call_with_retry(
            fn,  # type: ignore[arg-type]
            policy=RetryPolicy(deadline_s=5, max_backoff_s=1, jitter=0),
            operation="chroma count on collection 'docs'",
            target="chroma+http://127.0.0.1:8000",
            redact=("abc123",),
            sleep=clock.sleep,
            clock=clock,
        )
    err = info.value
    assert err.attempts == len(calls) and err.attempts > 3
    assert 5.0 <= err.elapsed_s <= 5.0 + 0.3
    assert all(s <= 1.0 for s in clock.sleeps)
    assert clock.now <= 5.0 + 0.3  # no pause runs past the deadline; one attempt may
    text = str(err)
    assert "chroma count on collection 'docs' on chroma+http://127.0.0.1:8000" in text
    assert f"after {err.attempts} attempts over" in text
    assert "abc123" not in text and "***" in text
    assert err.original is original and err.__cause__ is original


def test_max_attempts_and_disabled() -> None:
    clock = FakeClock()
    calls, fn = failing(10, TransientBackendError("down"), clock)
    with pytest.raises(RetryDeadlineError):
        call_with_retry(
            fn,  # type: ignore[arg-type]
            policy=RetryPolicy(max_attempts=3),
            operation="op",
            sleep=clock.sleep,
            clock=clock,
        )
    assert len(calls) == 3
    calls, fn = failing(10, TransientBackendError("down"), clock)
    with pytest.raises(TransientBackendError) as info:
        call_with_retry(fn, policy=RetryPolicy.disabled(), operation="op", sleep=clock.sleep, clock=clock)  # type: ignore[arg-type]
    assert not isinstance(info.value, RetryDeadlineError) and len(calls) == 1


def test_on_retry_hook_sees_each_failure() -> None:
    clock = FakeClock()
    seen: list[int] = []
    _, fn = failing(2, TransientBackendError("down"), clock)
    call_with_retry(
        fn,  # type: ignore[arg-type]
        policy=RetryPolicy(),
        operation="op",
        on_retry=lambda e, n: seen.append(n),
        sleep=clock.sleep,
        clock=clock,
    )
    assert seen == [1, 2]


def test_async_twin() -> None:
    n = 0

    async def fn() -> int:
        nonlocal n
        n += 1
        if n < 3:
            raise TransientBackendError("down")
        return n

    policy = RetryPolicy(initial_backoff_s=0.001, max_backoff_s=0.002)
    assert asyncio.run(acall_with_retry(fn, policy=policy, operation="op")) == 3

    async def never() -> int:
        raise TransientBackendError("down")

    with pytest.raises(RetryDeadlineError, match="op on x failed"):
        asyncio.run(
            acall_with_retry(
                never,
                policy=RetryPolicy(deadline_s=0.05, initial_backoff_s=0.005, max_backoff_s=0.01),
                operation="op",
                target="x",
            )
        )


def test_twins_take_the_same_parameters() -> None:
    """acall_with_retry is the source of call_with_retry: same parameters, same defaults."""
    sync, asyn = inspect.signature(call_with_retry), inspect.signature(acall_with_retry)
    assert list(sync.parameters) == list(asyn.parameters)
    assert "sleep" in sync.parameters and "clock" in sync.parameters
    for name, param in sync.parameters.items():
        other = asyn.parameters[name]
        assert param.kind is other.kind, name
        if name not in ("sleep",):
            assert param.default == other.default, name
    assert sync.parameters["sleep"].default is time.sleep
    assert asyn.parameters["sleep"].default is asyncio.sleep


def test_async_twin_with_fake_clock_matches_the_sync_one() -> None:
    """The same failures give the same pauses, hook calls and deadline error on both twins."""

    def run_sync() -> tuple[list[float], list[int], int]:
        clock = FakeClock()
        calls, fn = failing(10**6, TransientBackendError("down"), clock, cost=0.25)
        seen: list[int] = []
        with pytest.raises(RetryDeadlineError) as info:
            call_with_retry(
                fn,  # type: ignore[arg-type]
                policy=RetryPolicy(deadline_s=3, jitter=0),
                operation="op",
                on_retry=lambda e, n: seen.append(n),
                sleep=clock.sleep,
                clock=clock,
            )
        assert info.value.attempts == len(calls)
        return clock.sleeps, seen, len(calls)

    async def run_async() -> tuple[list[float], list[int], int]:
        clock = FakeClock()
        calls: list[int] = []
        seen: list[int] = []

        async def fn() -> str:
            calls.append(1)
            clock.now += 0.25
            raise TransientBackendError("down")

        async def sleep(s: float) -> None:
            clock.sleep(s)

        async def hook(e: TransientBackendError, n: int) -> None:
            seen.append(n)

        with pytest.raises(RetryDeadlineError) as info:
            await acall_with_retry(
                fn,
                policy=RetryPolicy(deadline_s=3, jitter=0),
                operation="op",
                on_retry=hook,
                sleep=sleep,
                clock=clock,
            )
        assert info.value.attempts == len(calls)
        return clock.sleeps, seen, len(calls)

    sync = run_sync()
    assert sync == asyncio.run(run_async())
    sleeps, seen, attempts = sync
    assert sleeps[:4] == pytest.approx([0.1, 0.2, 0.4, 0.8]) and seen == list(range(1, attempts))


def test_retry_log_names_the_call_and_hides_secrets(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    original = ConnectionResetError("peer reset")
    _, fn = failing(2, TransientBackendError("reset with key=s3cr3t", original), clock)
    caplog.set_level(logging.INFO, logger="vecctx.retry")
    call_with_retry(
        fn,  # type: ignore[arg-type]
        policy=RetryPolicy(jitter=0),
        operation="count on 'docs'",
        target="x://host",
        redact=("s3cr3t",),
        sleep=clock.sleep,
        clock=clock,
    )
    records = [r for r in caplog.records if r.name == "vecctx.retry"]
    assert [r.getMessage().split(" failed ")[0] for r in records] == ["count on 'docs' on x://host"] * 2
    assert all("s3cr3t" not in r.getMessage() and "***" in r.getMessage() for r in records)
    assert all(getattr(r, "vecctx_original", None) is original for r in records)


def test_parse_retry_options() -> None:
    opts = {"retry_deadline": "5", "retry_initial_backoff": "3", "other": "x"}
    p = parse_retry_options(opts)
    assert (p.deadline_s, p.initial_backoff_s, p.max_backoff_s) == (5.0, 3.0, 3.0)
    assert opts == {"other": "x"}
    assert parse_retry_options({"retry_deadline": "0"}).enabled is False
    assert parse_retry_options({"retry_max_attempts": "4"}).max_attempts == 4
    for bad in ({"retry_deadline": "soon"}, {"retry_deadline": "-1"}, {"retry_multiplier": "0.5"}):
        with pytest.raises(ConfigError):
            parse_retry_options(dict(bad))
    with pytest.raises(ConfigError):
        RetryPolicy(jitter=2)


def test_adapters_take_the_policy_from_the_url() -> None:
    chroma = pytest.importorskip("vecctx_chroma")
    milvus = pytest.importorskip("vecctx_milvus")
    cfg = chroma.parse_url("chroma+http://127.0.0.1:8000?retry_deadline=7&retry_max_backoff=0.5&token=t")
    assert cfg.retry == RetryPolicy(deadline_s=7, max_backoff_s=0.5)
    assert chroma.parse_url("chroma:///tmp/x").retry == RetryPolicy()
    mcfg = milvus.parse_url("milvus://127.0.0.1:19530?retry_deadline=0")
    assert not mcfg.retry.enabled
    assert milvus.parse_url("milvus:///tmp/x.db?retry_initial_backoff=0.01").retry.initial_backoff_s == 0.01
    with pytest.raises(ConfigError):
        chroma.parse_url("chroma+http://127.0.0.1:8000?retry_deadline=x")
    with pytest.raises(ConfigError):
        milvus.parse_url("milvus://127.0.0.1:19530?retry_jitter=3")
