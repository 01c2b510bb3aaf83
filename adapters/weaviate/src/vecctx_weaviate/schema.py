"""How vecctx data maps onto a Weaviate class (the layout: the README, "How data is stored").

A collection is a class named by :func:`class_name`, its spec JSON in the class description.
Each object holds ``vecctx_``-prefixed bookkeeping properties (id, text, metadata JSON and
``vecctx_keys``, the metadata paths that exist) and one typed array property per metadata
path and value type (``ms_``/``mn_``/``mb_<path>``), strings wrapped in ``|...|`` so that
field tokenization keeps them exact.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

from vecctx.contract.errors import BackendError, ConfigError, UnsupportedFeatureError
from vecctx.contract.filters import Scalar
from vecctx.contract.types import (
    CollectionSpec,
    FieldType,
    IndexKind,
    Metric,
    spec_data,
    spec_from_data,
)

#: Named vector holding the dense vectors.
VECTOR_NAME = "default"
PROP_ID = "vecctx_id"
PROP_TEXT = "vecctx_text"
PROP_META = "vecctx_meta"
PROP_KEYS = "vecctx_keys"
#: The properties a search or fetch asks back (``with_payload``), and without payload.
PAYLOAD_PROPS = [PROP_ID, PROP_TEXT, PROP_META]
ID_ONLY_PROPS = [PROP_ID]

DESCRIPTION_PREFIX = "vecctx:"
_SPEC_VERSION = 1

Kind: TypeAlias = Literal["s", "n", "b"]
#: Weaviate data type of each typed metadata property.
KIND_TYPES: dict[Kind, str] = {"s": "text[]", "n": "number[]", "b": "boolean[]"}
_FIELD_KINDS: dict[FieldType, Kind] = {
    FieldType.KEYWORD: "s",
    FieldType.INTEGER: "n",
    FieldType.FLOAT: "n",
    FieldType.BOOL: "b",
    FieldType.DATETIME: "n",  # integer microseconds since 1970 (vecctx.contract.dates)
}
_MAX_PROP_NAME = 200

DISTANCES: dict[Metric, str] = {Metric.COSINE: "cosine", Metric.DOT: "dot", Metric.EUCLIDEAN: "l2-squared"}
_ESCAPES = {"_": "__", "-": "_1", ".": "_2"}


# -- names ---------------------------------------------------------------------------------


def encode(text: str) -> str:
    """An injective encoding of any string into ``[a-z0-9_]*`` (the tests decode it).

    Lowercase letters and digits stay; ``X`` -> ``_x``; ``_`` -> ``__``; ``-`` -> ``_1``;
    ``.`` -> ``_2``; anything else -> ``_3`` + six hex digits of the code point. Every escape
    starts with ``_`` and is decided by the next character, so decoding is unambiguous, and the
    result is all lowercase so case-insensitive name checks cannot make two encodings collide.
    """
    out: list[str] = []
    for ch in text:
        if ("a" <= ch <= "z") or ("0" <= ch <= "9"):
            out.append(ch)
        elif "A" <= ch <= "Z":
            out.append("_" + ch.lower())
        elif ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        else:
            out.append(f"_3{ord(ch):06x}")
    return "".join(out)


def class_name(collection: str) -> str:
    """The Weaviate class for a collection: ``docs`` -> ``Docs``, ``my-docs`` -> ``My_1docs``,
    ``Docs`` -> ``D_0ocs`` (the ``_0`` marks an originally uppercase first letter). Reversible,
    so two collections never share a class."""
    first, rest = collection[0], collection[1:]
    marker = "_0" if first.isupper() else ""
    return first.upper() + marker + encode(rest)


@functools.lru_cache(maxsize=8192)
def prop_name(path: str, kind: Kind) -> str:
    """The typed property holding metadata ``path``'s values of ``kind`` (s, n or b)."""
    enc = encode(path)
    if len(enc) + 3 <= _MAX_PROP_NAME:
        return f"m{kind}_{enc}"
    digest = hashlib.sha256(path.encode("utf-8")).hexdigest()[:40]
    return f"h{kind}_{digest}"


@functools.lru_cache(maxsize=8192)
def key_token(path: str) -> str:
    """How a metadata path is recorded in ``vecctx_keys`` (exact under field tokenization)."""
    return encode(path)


def kind_of(value: Scalar) -> Kind:
    """The kind of the typed property holding ``value`` (its type picks it)."""
    if isinstance(value, bool):
        return "b"
    return "s" if isinstance(value, str) else "n"


def stored(value: Scalar) -> str | float | bool:
    """A metadata value as its typed property holds it and filters compare it: numbers as
    floats, strings wrapped in ``|...|`` (see the module docstring)."""
    if isinstance(value, bool):
        return value
    return f"|{value}|" if isinstance(value, str) else float(value)


# -- specs ---------------------------------------------------------------------------------


def spec_to_description(spec: CollectionSpec) -> str:
    body = {"vecctx": _SPEC_VERSION, **spec_data(spec)}
    return DESCRIPTION_PREFIX + json.dumps(body, sort_keys=True, separators=(",", ":"))


def spec_from_description(description: str | None, cls: str) -> CollectionSpec | None:
    """The spec stored by :func:`spec_to_description`; ``None`` when the class is not ours."""
    if not description or not description.startswith(DESCRIPTION_PREFIX):
        return None
    try:
        spec = spec_from_data(json.loads(description[len(DESCRIPTION_PREFIX) :]))
    except (ValueError, ConfigError) as exc:
        raise BackendError(f"Weaviate class {cls!r} holds an unreadable vecctx spec: {exc}", exc) from exc
    return spec if class_name(spec.name) == cls else None


def _property(name: str, dtype: str, *, filterable: bool = False, searchable: bool = False) -> dict[str, Any]:
    """A property's schema entry; text is tokenized by word for BM25, else kept whole."""
    prop = {"name": name, "dataType": [dtype], "indexFilterable": filterable, "indexSearchable": searchable}
    if dtype.startswith("text"):
        prop["tokenization"] = "word" if searchable else "field"
    return prop


def typed_property(name: str, kind: Kind) -> dict[str, Any]:
    """The schema entry of a typed metadata property."""
    return _property(name, KIND_TYPES[kind], filterable=True)


def class_config(spec: CollectionSpec) -> dict[str, Any]:
    """The REST body that creates the class for ``spec`` (the store front has refused sparse
    specs: Weaviate's keyword side is BM25 over the text, see the driver's ``hybrid``)."""
    index = spec.index
    if index.kind not in (IndexKind.HNSW, IndexKind.FLAT):
        raise UnsupportedFeatureError(f"Weaviate has no {index.kind.value} index (use hnsw or flat)")
    index_config: dict[str, Any] = {"distance": DISTANCES[spec.metric]}
    if index.kind is IndexKind.HNSW:
        index_config.update(efConstruction=index.ef_construct, maxConnections=index.m, ef=-1)
    properties = [
        _property(PROP_ID, "text", filterable=True),
        _property(PROP_TEXT, "text", searchable=True),
        _property(PROP_META, "text"),
        _property(PROP_KEYS, "text[]", filterable=True),
    ]
    seen = {p["name"] for p in properties}
    for path, ftype in spec.indexed_fields.items():
        name = prop_name(path, _FIELD_KINDS[ftype])
        if name not in seen:
            seen.add(name)
            properties.append(typed_property(name, _FIELD_KINDS[ftype]))
    vector = {
        "vectorizer": {"none": {}},
        "vectorIndexType": index.kind.value,
        "vectorIndexConfig": index_config,
    }
    return {
        "class": class_name(spec.name),
        "description": spec_to_description(spec),
        "vectorConfig": {VECTOR_NAME: vector},
        "properties": properties,
    }


# -- metadata ------------------------------------------------------------------------------


@dataclass(slots=True)
class Flattened:
    """The properties one record's metadata produces."""

    values: dict[str, list[Any]] = field(default_factory=dict)
    kinds: dict[str, Kind] = field(default_factory=dict)
    keys: list[str] = field(default_factory=list)


def flatten(metadata: Mapping[str, Any]) -> Flattened:
    """Typed filter properties for ``metadata`` (already validated as JSON data)."""
    out = Flattened()
    _walk(metadata, "", out)
    return out


def _walk(obj: Mapping[str, Any], prefix: str, out: Flattened) -> None:
    for key, value in obj.items():
        path = prefix + key
        if isinstance(value, Mapping):
            out.keys.append(key_token(path))
            _walk(value, path + ".", out)
            continue
        present = [e for e in (value if isinstance(value, list | tuple) else (value,)) if e is not None]
        for e in present:  # nested lists and objects in a list are never compared (paths stop at lists)
            if isinstance(e, str) or (isinstance(e, int | float) and math.isfinite(e)):
                _add(out, path, kind_of(e), stored(e))
        if present:
            out.keys.append(key_token(path))


def _add(out: Flattened, path: str, kind: Kind, value: Any) -> None:
    name = prop_name(path, kind)
    out.values.setdefault(name, []).append(value)
    out.kinds[name] = kind


def properties_for(
    user_id: str, text: str | None, metadata: Mapping[str, Any], flat: Flattened
) -> dict[str, Any]:
    """The Weaviate properties of one object."""
    props: dict[str, Any] = {
        PROP_ID: user_id,
        PROP_META: json.dumps(metadata, ensure_ascii=False, separators=(",", ":")),
    }
    if text is not None:
        props[PROP_TEXT] = text
    if flat.keys:
        props[PROP_KEYS] = flat.keys
    props.update(flat.values)
    return props


def metadata_from(raw: Any) -> dict[str, Any]:
    value = json.loads(raw) if isinstance(raw, str) and raw else {}
    return value if isinstance(value, dict) else {}
