"""Translate weaviate-client, httpx and gRPC exceptions into the vecctx hierarchy."""

from __future__ import annotations

import importlib

import httpx
from weaviate.exceptions import (
    UnexpectedStatusCodeError,
    WeaviateBaseError,
    WeaviateClosedClientError,
    WeaviateConnectionError,
    WeaviateGRPCUnavailableError,
    WeaviateRetryError,
    WeaviateStartUpError,
    WeaviateTimeoutError,
)

from vecctx.errors import BackendError, TransientBackendError, VecctxError

#: ``grpc.RpcError`` (grpcio ships no type stubs).
RpcError: type[BaseException] = importlib.import_module("grpc").RpcError

#: Exceptions the adapter translates (anything else is a bug and propagates).
BACKEND_EXCEPTIONS: tuple[type[BaseException], ...] = (
    WeaviateBaseError,
    httpx.HTTPError,
    RpcError,
    OSError,
)

_TRANSIENT_TYPES: tuple[type[BaseException], ...] = (
    WeaviateConnectionError,
    WeaviateGRPCUnavailableError,
    WeaviateStartUpError,
    WeaviateTimeoutError,
    WeaviateRetryError,
    WeaviateClosedClientError,
    httpx.TransportError,
    ConnectionError,
    TimeoutError,
)
_TRANSIENT_STATUS = frozenset({408, 425, 429, 502, 503, 504})
_TRANSIENT_GRPC = frozenset({"UNAVAILABLE", "DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED"})
_TRANSIENT_WORDS = (
    "UNAVAILABLE",
    "DEADLINE_EXCEEDED",
    "Deadline Exceeded",
    "Connection refused",
    "timed out",
)


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, _TRANSIENT_TYPES):
        return True
    if isinstance(exc, UnexpectedStatusCodeError):
        return exc.status_code in _TRANSIENT_STATUS
    if isinstance(exc, RpcError):
        code = getattr(exc, "code", None)
        try:
            name = getattr(code(), "name", "") if callable(code) else ""
        except Exception:  # a bare RpcError has no working code()
            return False
        return name in _TRANSIENT_GRPC
    message = str(exc)
    return any(word in message for word in _TRANSIENT_WORDS)


def translate(exc: BaseException, doing: str, scrub: str | None = None) -> VecctxError:
    """The vecctx error for a backend exception raised while ``doing`` something.

    ``scrub`` is a secret (the API key) removed from the message should the backend echo it.
    """
    if isinstance(exc, VecctxError):
        return exc
    detail = f"{type(exc).__name__}: {exc}"
    if scrub:
        detail = detail.replace(scrub, "***")
    message = f"Weaviate failed to {doing}: {detail}"
    if is_transient(exc):
        return TransientBackendError(message, exc)
    return BackendError(message, exc)


def status_of(exc: BaseException) -> int | None:
    if isinstance(exc, UnexpectedStatusCodeError):
        return exc.status_code
    return None


__all__ = ["BACKEND_EXCEPTIONS", "is_transient", "status_of", "translate"]
