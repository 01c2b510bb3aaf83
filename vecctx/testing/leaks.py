"""A test's view of where a secret shows in an error: independent of the redaction it checks
(:func:`vecctx.contract.checks.redact_chain`), it looks everywhere a traceback, a debugger or an
error reporter would."""

from __future__ import annotations

import traceback
from collections.abc import Callable, Mapping

_LEAVES = (str, bytes, bytearray, int, float, bool, type(None))


def secret_leaks(exc: BaseException, secret: str, *, depth: int = 4) -> list[str]:
    """Where ``secret`` shows in ``exc``: its printed traceback (causes included), and, through
    every exception it was raised from or during or holds, their arguments and attributes (notes,
    text, bytes, headers, URLs), up to ``depth`` objects down (an HTTP response, its request, its
    headers). An empty list: no leak."""
    found: list[str] = []
    if secret in "".join(traceback.format_exception(exc)):
        found.append("the printed traceback")
    seen: set[int] = set()

    def visit(value: object, where: str, left: int) -> None:
        if id(value) in seen:
            return
        seen.add(id(value))
        if isinstance(value, bytes | bytearray):
            if secret.encode() in value:
                found.append(where)
        elif isinstance(value, _LEAVES):
            if secret in str(value):
                found.append(where)
        elif isinstance(value, Mapping):
            for key, item in list(value.items()):
                visit(item, f"{where}[{key!r}]", left)
        elif isinstance(value, list | tuple | set | frozenset):
            for i, item in enumerate(value):
                visit(item, f"{where}[{i}]", left)
        elif isinstance(value, BaseException):
            visit(value.args, f"{where}.args", left)
            for name in ("__cause__", "__context__"):
                if (nested := getattr(value, name)) is not None:
                    visit(nested, f"{where}.{name}", left)
            visit(getattr(value, "__dict__", {}), where, left)
        elif left > 0 and hasattr(value, "__dict__"):
            visit(vars(value), f"{where}<{type(value).__name__}>", left - 1)
        elif secret in str(value):  # a URL object and the like
            found.append(where)

    visit(exc, "error", depth)
    return found


def raises_masked(call: Callable[[], object], secret: str, error: type[BaseException]) -> BaseException:
    """The ``error`` that ``call()`` must raise, checked to show ``secret`` nowhere
    (:func:`secret_leaks`); any other outcome fails the test."""
    try:
        call()
    except error as exc:
        leaks = secret_leaks(exc, secret)
        assert not leaks, f"the secret shows in {leaks}"
        return exc
    raise AssertionError(f"expected {error.__name__}, nothing was raised")


__all__ = ["raises_masked", "secret_leaks"]
