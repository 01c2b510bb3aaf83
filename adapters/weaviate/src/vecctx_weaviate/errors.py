"""Translate weaviate-client, httpx and gRPC exceptions into the vecctx hierarchy."""

from __future__ import annotations

import importlib

import httpx
from weaviate.exceptions import (
    UnexpectedStatusCodeError,
    WeaviateClosedClientError,
    WeaviateConnectionError,
    WeaviateGRPCUnavailableError,
    WeaviateRetryError,
    WeaviateStartUpError,
    WeaviateTimeoutError,
)

from vecctx.contract.errors import BackendError, TransientBackendError, VecctxError

#: ``grpc.RpcError`` (grpcio ships no type stubs).
RpcError: type[BaseException] = importlib.import_module("grpc").RpcError

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
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code in _TRANSIENT_STATUS
    if isinstance(exc, RpcError):
        code = getattr(exc, "code", None)
        try:
            name = getattr(code(), "name", "") if callable(code) else ""
        except Exception:  # a bare RpcError has no working code()
            return False
        return name in _TRANSIENT_GRPC
    return any(word in str(exc) for word in _TRANSIENT_WORDS)


def translate(exc: BaseException, doing: str) -> VecctxError:
    """The vecctx error for a backend exception raised while ``doing`` something (the store
    front masks the API key in it)."""
    if isinstance(exc, VecctxError):
        return exc
    message = f"Weaviate failed to {doing}: {type(exc).__name__}: {exc}"
    if is_transient(exc):
        return TransientBackendError(message, exc)
    return BackendError(message, exc)


__all__ = ["is_transient", "translate"]
