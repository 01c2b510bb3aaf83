"""How vecctx data maps onto a Weaviate class.

* A collection ``name`` maps to the class :func:`class_name` (capitalised, reversible, only
  ``[A-Z][a-z0-9_]*`` so Weaviate's case rules cannot make two names collide); the
  :class:`~vecctx.contract.types.CollectionSpec` is stored as JSON in the class description.
* Each object holds bookkeeping properties (all prefixed ``vecctx_``): the user's id, the text
  (BM25-searchable), the metadata as a JSON string (the exact round trip) and ``vecctx_keys``,
  the list of metadata paths that *exist* in the reference sense (present, not null, not an
  empty list).
* For filtering, every metadata leaf is also stored in a typed array property named after its
  dotted path and its value type: ``ms_<path>`` (``text[]``, field tokenization), ``mn_<path>``
  (``number[]``) and ``mb_<path>`` (``boolean[]``). Arrays give the reference's "a list matches
  when any element does" for free, and splitting by type keeps ``year: 2020`` and
  ``year: "2020"`` apart as the reference does. Strings are stored wrapped in ``|...|`` so that
  Weaviate's field tokenization (which trims whitespace and drops empty strings) keeps them exact.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

from vecctx.contract.errors import BackendError, ConfigError, UnsupportedFeatureError
from vecctx.contract.types import CollectionSpec, FieldType, IndexKind, IndexParams, Metric

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
}
_MAX_PROP_NAME = 200

DISTANCES: dict[Metric, str] = {
    Metric.COSINE: "cosine",
    Metric.DOT: "dot",
    Metric.EUCLIDEAN: "l2-squared",
}


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
        elif ch == "_":
            out.append("__")
        elif ch == "-":
            out.append("_1")
        elif ch == ".":
            out.append("_2")
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


def wrap_text(value: str) -> str:
    """How a string metadata value is stored and compared (see the module docstring)."""
    return f"|{value}|"


# -- specs ---------------------------------------------------------------------------------


def spec_to_description(spec: CollectionSpec) -> str:
    body = {"vecctx": _SPEC_VERSION, **dataclasses.asdict(spec)}  # enums are strings
    return DESCRIPTION_PREFIX + json.dumps(body, sort_keys=True, separators=(",", ":"))


def spec_from_description(description: str | None, cls: str) -> CollectionSpec | None:
    """The spec stored by :func:`spec_to_description`; ``None`` when the class is not ours."""
    if not description or not description.startswith(DESCRIPTION_PREFIX):
        return None
    try:
        body = json.loads(description[len(DESCRIPTION_PREFIX) :])
        index = body.get("index", {})
        spec = CollectionSpec(
            name=str(body["name"]),
            dimension=int(body["dimension"]),
            metric=Metric(body["metric"]),
            sparse=bool(body.get("sparse", False)),
            indexed_fields={str(k): FieldType(v) for k, v in body.get("indexed_fields", {}).items()},
            index=IndexParams(**{**index, "kind": IndexKind(index.get("kind", "hnsw"))}),
        )
    except (ValueError, KeyError, TypeError, AttributeError, ConfigError) as exc:
        raise BackendError(f"Weaviate class {cls!r} holds an unreadable vecctx spec: {exc}", exc) from exc
    return spec if class_name(spec.name) == cls else None


def text_property(
    name: str, *, array: bool = False, tokenization: str = "field", filterable: bool, searchable: bool
) -> dict[str, Any]:
    return {
        "name": name,
        "dataType": ["text[]" if array else "text"],
        "tokenization": tokenization,
        "indexFilterable": filterable,
        "indexSearchable": searchable,
    }


def typed_property(name: str, kind: Kind) -> dict[str, Any]:
    """The schema entry of a typed metadata property."""
    if kind == "s":
        return text_property(name, array=True, filterable=True, searchable=False)
    return {"name": name, "dataType": [KIND_TYPES[kind]], "indexFilterable": True, "indexSearchable": False}


def class_config(spec: CollectionSpec) -> dict[str, Any]:
    """The REST body that creates the class for ``spec`` (the store front has refused sparse
    specs: Weaviate's keyword side is BM25 over the text, see the driver's ``hybrid``)."""
    index = spec.index
    if index.kind is IndexKind.HNSW:
        index_type = "hnsw"
        index_config: dict[str, Any] = {
            "distance": DISTANCES[spec.metric],
            "efConstruction": index.ef_construct,
            "maxConnections": index.m,
            "ef": -1,
        }
    elif index.kind is IndexKind.FLAT:
        index_type = "flat"
        index_config = {"distance": DISTANCES[spec.metric]}
    else:
        raise UnsupportedFeatureError(f"Weaviate has no {index.kind.value} index (use hnsw or flat)")
    properties = [
        text_property(PROP_ID, filterable=True, searchable=False),
        text_property(PROP_TEXT, tokenization="word", filterable=False, searchable=True),
        text_property(PROP_META, filterable=False, searchable=False),
        text_property(PROP_KEYS, array=True, filterable=True, searchable=False),
    ]
    seen = {p["name"] for p in properties}
    for path, ftype in spec.indexed_fields.items():
        name = prop_name(path, _FIELD_KINDS[ftype])
        if name not in seen:
            seen.add(name)
            properties.append(typed_property(name, _FIELD_KINDS[ftype]))
    return {
        "class": class_name(spec.name),
        "description": spec_to_description(spec),
        "vectorConfig": {
            VECTOR_NAME: {
                "vectorizer": {"none": {}},
                "vectorIndexType": index_type,
                "vectorIndexConfig": index_config,
            }
        },
        "properties": properties,
    }


# -- metadata ------------------------------------------------------------------------------


@dataclass(slots=True)
class Flattened:
    """The properties one record's metadata produces."""

    values: dict[str, list[Any]] = field(default_factory=dict)
    kinds: dict[str, Kind] = field(default_factory=dict)
    keys: list[str] = field(default_factory=list)


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def flatten(metadata: Mapping[str, Any]) -> Flattened:
    """Typed filter properties for ``metadata`` (already validated as JSON data)."""
    out = Flattened()
    _walk(metadata, "", out)
    return out


def _walk(obj: Mapping[str, Any], prefix: str, out: Flattened) -> None:
    for key, value in obj.items():
        path = prefix + key
        if value is None:
            continue
        if isinstance(value, Mapping):
            out.keys.append(key_token(path))
            _walk(value, path + ".", out)
            continue
        elements = value if isinstance(value, list | tuple) else (value,)
        present = False
        for e in elements:
            if e is None:
                continue
            present = True
            if isinstance(e, bool):
                _add(out, path, "b", e)
            elif isinstance(e, str):
                _add(out, path, "s", wrap_text(e))
            elif _is_number(e) and math.isfinite(e):
                _add(out, path, "n", float(e))
            # nested lists and objects inside lists are never compared (paths stop at lists)
        if present:
            out.keys.append(key_token(path))


def _add(out: Flattened, path: str, kind: Kind, value: Any) -> None:
    name = prop_name(path, kind)
    bucket = out.values.get(name)
    if bucket is None:
        out.values[name] = [value]
        out.kinds[name] = kind
    else:
        bucket.append(value)


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


_decode_json = json.JSONDecoder().decode


def metadata_from(raw: Any) -> dict[str, Any]:
    if type(raw) is not str or not raw:
        return {}
    value = _decode_json(raw)
    return value if type(value) is dict else {}
