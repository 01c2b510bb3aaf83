"""What every URL parser shares: a URL fit to quote in a message (:func:`redact_url`), a split
that fails with a :class:`ConfigError` (:func:`split_url`), the checks of an embedded store's
directory (:func:`store_path`) and the query options (:func:`url_options`, read with
:func:`number_option` and :func:`flag_option`)."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Collection, Mapping
from typing import Any, TypeVar
from urllib.parse import SplitResult, parse_qsl, unquote, urlsplit

from vecctx.contract.errors import ConfigError

#: A query option (or fragment parameter) whose value is a secret: its name contains one of these
#: words, in any case (``api_key``, ``apiKey``, ``X-Auth-Token``, ``password``, ``client_secret``, ...).
SECRET_OPTION = re.compile(r"key|token|secret|passw|pwd|auth|credential|signature|session", re.IGNORECASE)
_QUERY_START = re.compile(r"[?#]")
_TRUE = frozenset({"", "1", "true", "yes", "on"})  # a bare ``?idf`` turns the option on
_FALSE = frozenset({"0", "false", "no", "off"})
N = TypeVar("N", int, float)
_PARAM = re.compile(r"(?P<sep>^|[&;])(?P<name>[^=&;]*)=(?P<value>[^&;]*)")


def redact_url(url: object) -> str:
    """``url`` with the secrets masked as ``***``: the user part (``user:password@``, which some
    backends read as a token) and the value of every option whose name looks secret
    (:data:`SECRET_OPTION`), in the query and in the fragment. Works on malformed URLs too; a
    value that is not a string is named by its type."""
    if not isinstance(url, str):
        return f"<{type(url).__name__}>"
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    # The user part ends at the last @ before the query (a password may hold an unescaped /); a
    # URL with an empty host (qdrant:///data/a@b) has none.
    end = m.start() if (m := _QUERY_START.search(rest)) else len(rest)
    user_end = rest.rfind("@", 0, end)
    if user_end >= 0 and not rest.startswith("/"):
        rest = "***" + rest[user_end:]
    head, hash_, fragment = rest.partition("#")
    path, qmark, query = head.partition("?")
    return f"{scheme}{sep}{path}{qmark}{_mask_params(query)}{hash_}{_mask_params(fragment)}"


def _mask_params(params: str) -> str:
    def one(m: re.Match[str]) -> str:
        secret = SECRET_OPTION.search(unquote(m["name"])) and m["value"]
        return f"{m['sep']}{m['name']}={'***' if secret else m['value']}"

    return _PARAM.sub(one, params)


def split_url(url: str, what: str) -> SplitResult:
    """``urlsplit(url)``, its host and port checked: a malformed one (an unbalanced ``[`` of an
    IPv6 address, a port that is not a number in 0-65535) is a :class:`ConfigError` naming
    ``what`` (e.g. ``"the Chroma URL"``) and quoting the URL redacted."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise ConfigError(f"{what} {redact_url(url)!r} is malformed: {exc}") from None
    try:
        parts.port  # noqa: B018 - raises for a bad port
    except ValueError as exc:
        raise ConfigError(f"{what} {redact_url(url)!r} has an invalid port: {exc}") from None
    return parts


def store_path(path: str, form: str) -> str:
    """``path`` (already unquoted), checked as an embedded store's directory: absolute, not the
    filesystem root, and a name the operating system can take (no NUL, no lone surrogate).
    ``form`` shows the URL form in the message, e.g. ``qdrant:///abs/path``."""
    if "\0" in path:
        raise ConfigError(f"the store path contains a NUL character; use {form}")
    try:
        os.fsencode(path)
    except UnicodeError:
        raise ConfigError(
            f"the store path is not a valid file name (unencodable characters); use {form}"
        ) from None
    if not os.path.isabs(path):
        raise ConfigError(f"the store path must be absolute: {form}")
    if os.path.abspath(path).strip("/") == "":
        raise ConfigError(f"the filesystem root cannot be a store's directory: name one, e.g. {form}")
    return path


def url_options(query: str, allowed: Collection[str], what: str) -> dict[str, str]:
    """The options of the query string ``query``, each given once and each one of ``allowed``
    (a :class:`ConfigError` otherwise, naming ``what``, e.g. ``"milvus://"``, and the known
    options). A secret's value is never quoted."""
    options: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key in options:
            raise ConfigError(f"option {key!r} is given more than once for {what}")
        options[key] = value
    if unknown := sorted(set(options) - set(allowed)):
        raise ConfigError(
            f"unknown option(s) {', '.join(map(repr, unknown))} for {what}; known: {', '.join(sorted(allowed))}"
        )
    return options


def number_option(
    options: Mapping[str, str],
    name: str,
    kind: type[N],
    default: Any,
    *,
    above: float = 0,
    at_most: float | None = None,
) -> Any:
    """Option ``name`` as a finite ``kind`` greater than ``above`` and at most ``at_most``
    (``default`` when it is not given); a :class:`ConfigError` otherwise."""
    raw = options.get(name)
    if raw is None:
        return default
    try:
        value = kind(raw)
    except ValueError:
        value = None
    if value is None or not above < value < math.inf or (at_most is not None and value > at_most):
        what = "an integer" if kind is int else "a number"
        least = "" if above == -math.inf else f" greater than {above}"
        most = "" if at_most is None else f" and at most {at_most}"
        raise ConfigError(f"option {name}={raw!r} must be {what}{least}{most}")
    return value


def flag_option(options: Mapping[str, str], name: str, default: bool = False) -> bool:
    """Option ``name`` as a bool: 1/0, true/false, yes/no or on/off, any case; given with no
    value it is on (``default`` when it is not given)."""
    raw = options.get(name)
    if raw is None:
        return default
    low = raw.strip().lower()
    if low in _TRUE or low in _FALSE:
        return low in _TRUE
    raise ConfigError(f"option {name}={raw!r} must be true or false (1/0, yes/no, on/off)")


__all__ = [
    "SECRET_OPTION",
    "flag_option",
    "number_option",
    "redact_url",
    "split_url",
    "store_path",
    "url_options",
]
