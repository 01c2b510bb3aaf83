"""An in-process stand-in for a Weaviate server, for wire-level tests of the adapter.

No Weaviate server can run on this machine (embedded mode downloads a binary; there is no
Docker), so - as weaviate-client's own ``mock_tests`` do - the tests talk to
pytest-httpserver (REST: meta, readiness, schema) and an in-process gRPC servicer built on the
client's generated protobuf modules (Search, BatchObjects, BatchDelete, Aggregate, health),
both on 127.0.0.1 at free ports.

Every request is recorded (``rest_log``, ``grpc_log``) so tests can assert exactly what the
adapter sends. The fake also keeps state and answers queries the way this file's author
understands Weaviate to (brute-force vector search, filters on array properties matching any
element, ``Not`` as the complement over all objects, field tokenization trimming whitespace,
listing in UUID order without a filter and in insertion order with one, an offset + limit cap,
``valueInt`` refused on ``number`` properties, unknown properties refused, ``Not`` refused
before 1.33, auto-schema off). That understanding is not Weaviate: passing here proves the
plumbing (requests, encodings, conversions), not conformance - the conformance suite must run
against a real server (``VECCTX_WEAVIATE_URL``).
"""

from __future__ import annotations

import copy
import fnmatch
import json
import logging
import math
import re
import struct
import threading
import time
import uuid
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import grpc
import numpy as np
from pytest_httpserver import HTTPServer
from weaviate.proto.v1 import (
    aggregate_pb2,
    base_pb2,
    base_search_pb2,
    batch_delete_pb2,
    batch_pb2,
    health_weaviate_pb2,
    properties_pb2,
    search_get_pb2,
    weaviate_pb2_grpc,
)
from werkzeug import Request, Response

logging.getLogger("werkzeug").setLevel(logging.ERROR)

_CLASS_RE = re.compile(r"^[A-Z][_0-9A-Za-z]*$")
_PROP_RE = re.compile(r"^[_A-Za-z][_0-9A-Za-z]{0,230}$")
Op = base_pb2.Filters


def _hnsw_defaults(cfg: dict[str, Any]) -> dict[str, Any]:
    out = {
        "skip": False,
        "cleanupIntervalSeconds": 300,
        "maxConnections": 32,
        "efConstruction": 128,
        "ef": -1,
        "dynamicEfMin": 100,
        "dynamicEfMax": 500,
        "dynamicEfFactor": 8,
        "vectorCacheMaxObjects": 1000000000000,
        "flatSearchCutoff": 40000,
        "distance": "cosine",
        "pq": {"enabled": False},
        "bq": {"enabled": False},
        "sq": {"enabled": False},
        "filterStrategy": "sweeping",
        "multivector": {"enabled": False, "aggregation": "maxSim"},
    }
    out.update(cfg)
    return out


def _flat_defaults(cfg: dict[str, Any]) -> dict[str, Any]:
    out = {
        "distance": "cosine",
        "vectorCacheMaxObjects": 1000000000000,
        "pq": {"enabled": False},
        "bq": {"enabled": False},
        "multivector": {"enabled": False, "aggregation": "maxSim"},
    }
    out.update(cfg)
    return out


def _prop_defaults(prop: dict[str, Any]) -> dict[str, Any]:
    out = dict(prop)
    out.pop("moduleConfig", None)
    dtype = out["dataType"][0]
    is_text = dtype in ("text", "text[]")
    out.setdefault("indexFilterable", True)
    out.setdefault("indexSearchable", is_text)
    out.setdefault("indexRangeFilters", False)
    if is_text:
        out.setdefault("tokenization", "word")
    return out


@dataclass
class StoredObject:
    uuid: str
    props: dict[str, Any]
    vector: np.ndarray
    seq: int


@dataclass
class FakeError:
    """An error to answer the next matching gRPC call with."""

    method: str
    code: grpc.StatusCode
    details: str
    times: int = 1


@dataclass
class FakeWeaviate:
    version: str = "1.33.2"
    api_key: str | None = None
    max_results: int = 10_000
    classes: dict[str, dict[str, Any]] = field(default_factory=dict)
    objects: dict[str, dict[str, StoredObject]] = field(default_factory=dict)
    dims: dict[str, int] = field(default_factory=dict)
    rest_log: list[tuple[str, str, Any]] = field(default_factory=list)
    grpc_log: list[tuple[str, Any]] = field(default_factory=list)
    errors: list[FakeError] = field(default_factory=list)
    shard_queue: list[int] = field(default_factory=list)
    #: user ids (``vecctx_id``) whose objects BatchObjects reports as failed
    reject: set[str] = field(default_factory=set)
    #: every request in arrival order: ("rest", method, path) or ("grpc", method, "")
    events: list[tuple[str, str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.lock = threading.RLock()
        self._seq = 0
        self.http: HTTPServer | None = None
        self.grpc_server: grpc.Server | None = None
        self.http_port = 0
        self.grpc_port = 0

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> FakeWeaviate:
        self.http = HTTPServer(host="127.0.0.1", port=0, threaded=True)
        self.http.expect_request(re.compile(r"^/.*$")).respond_with_handler(self._rest)
        self.http.start()
        self.http_port = self.http.port
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        weaviate_pb2_grpc.add_WeaviateServicer_to_server(_Servicer(self), server)
        server.add_generic_rpc_handlers((_health_handler(self),))
        self.grpc_port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        self.grpc_server = server
        return self

    def stop(self) -> None:
        if self.grpc_server is not None:
            self.grpc_server.stop(grace=None)
            self.grpc_server = None
        if self.http is not None and self.http.is_running():
            self.http.clear()
            self.http.stop()

    def url(self, **options: str) -> str:
        query = "&".join(f"{k}={v}" for k, v in {"grpc_port": str(self.grpc_port), **options}.items())
        return f"weaviate://127.0.0.1:{self.http_port}?{query}"

    # -- helpers for tests -------------------------------------------------------------
    def requests(self, method: str) -> list[Any]:
        return [m for name, m in self.grpc_log if name == method]

    def rest(self, method: str, prefix: str = "") -> list[tuple[str, Any]]:
        return [(p, b) for m, p, b in self.rest_log if m == method and p.startswith(prefix)]

    def clear_logs(self) -> None:
        with self.lock:
            self.rest_log.clear()
            self.grpc_log.clear()
            self.events.clear()

    def fail(self, method: str, code: grpc.StatusCode, details: str = "injected", times: int = 1) -> None:
        self.errors.append(FakeError(method, code, details, times))

    def version_tuple(self) -> tuple[int, ...]:
        return tuple(int(x) for x in self.version.split("-")[0].split("."))

    def class_of(self, name: str) -> dict[str, Any] | None:
        return self.classes.get(name)

    # -- REST --------------------------------------------------------------------------
    def _rest(self, request: Request) -> Response:
        body: Any = None
        if request.data:
            body = json.loads(request.data)
        path = request.path
        with self.lock:
            self.rest_log.append((request.method, path, body))
            self.events.append(("rest", request.method, path))
        public = path in ("/v1/.well-known/ready", "/v1/.well-known/live")
        if (
            self.api_key is not None
            and not public
            and request.headers.get("Authorization") != f"Bearer {self.api_key}"
        ):
            return _json({"error": [{"message": "anonymous access not enabled"}]}, 401)
        if path == "/v1/meta":
            return _json({"version": self.version, "grpcMaxMessageSize": 104858000, "modules": {}})
        if path in ("/v1/.well-known/ready", "/v1/.well-known/live"):
            return Response("", status=200)
        if path == "/v1/.well-known/openid-configuration":
            return _json({"error": "not found"}, 404)
        m = re.fullmatch(r"/v1/schema(?:/([^/]+))?(?:/(properties|shards))?", path)
        if m is None:
            return _json({"error": [{"message": f"no route {path}"}]}, 404)
        cls, sub = m.group(1), m.group(2)
        with self.lock:
            return self._schema(request.method, cls, sub, body)

    def _schema(self, method: str, cls: str | None, sub: str | None, body: Any) -> Response:
        if cls is None:
            if method == "GET":
                return _json({"classes": [copy.deepcopy(c) for c in self.classes.values()]})
            if method == "POST":
                return self._create(body)
            return _json({}, 405)
        existing = self.classes.get(cls)
        if sub == "properties":
            if existing is None:
                return _json({"error": [{"message": f"class {cls!r} not found"}]}, 404)
            name = body["name"]
            if not _PROP_RE.match(name) or name in ("id", "_id", "_additional"):
                return _json({"error": [{"message": f"invalid property name {name!r}"}]}, 422)
            if any(p["name"].lower() == name.lower() for p in existing["properties"]):
                return _json({"error": [{"message": f"property {name!r} already exists"}]}, 422)
            existing["properties"].append(_prop_defaults(body))
            return _json(body)
        if sub == "shards":
            if existing is None:
                return _json({"error": [{"message": "not found"}]}, 404)
            queue = self.shard_queue.pop(0) if self.shard_queue else 0
            return _json_list(
                [{"name": "shard0", "status": "INDEXING" if queue else "READY", "vectorQueueSize": queue}]
            )
        if method == "GET":
            if existing is None:
                return _json({"error": [{"message": "not found"}]}, 404)
            return _json(copy.deepcopy(existing))
        if method == "DELETE":
            self.classes.pop(cls, None)
            self.objects.pop(cls, None)
            self.dims.pop(cls, None)
            return _json({})
        if method == "PUT":
            if existing is None:
                return _json({"error": [{"message": "not found"}]}, 404)
            for vname, vcfg in body.get("vectorConfig", {}).items():
                old = existing["vectorConfig"][vname]
                if vcfg.get("vectorIndexType", old["vectorIndexType"]) != old["vectorIndexType"]:
                    return _json({"error": [{"message": "vectorIndexType is immutable"}]}, 422)
                old["vectorIndexConfig"].update(vcfg.get("vectorIndexConfig", {}))
            if "description" in body:
                existing["description"] = body["description"]
            return _json(copy.deepcopy(existing))
        return _json({}, 405)

    def _create(self, body: dict[str, Any]) -> Response:
        name = body["class"]
        if not _CLASS_RE.match(name):
            return _json({"error": [{"message": f"invalid class name {name!r}"}]}, 422)
        if any(c.lower() == name.lower() for c in self.classes):
            return _json({"error": [{"message": f"class name {name!r} already exists"}]}, 422)
        cfg = copy.deepcopy(body)
        for vcfg in cfg.get("vectorConfig", {}).values():
            if vcfg["vectorIndexType"] == "hnsw":
                vcfg["vectorIndexConfig"] = _hnsw_defaults(vcfg.get("vectorIndexConfig", {}))
            else:
                vcfg["vectorIndexConfig"] = _flat_defaults(vcfg.get("vectorIndexConfig", {}))
        cfg["properties"] = [_prop_defaults(p) for p in cfg.get("properties", [])]
        for p in cfg["properties"]:
            if not _PROP_RE.match(p["name"]):
                return _json({"error": [{"message": f"invalid property name {p['name']!r}"}]}, 422)
        cfg.setdefault(
            "invertedIndexConfig",
            {
                "bm25": {"b": 0.75, "k1": 1.2},
                "cleanupIntervalSeconds": 60,
                "stopwords": {"preset": "en", "additions": None, "removals": None},
            },
        )
        cfg.setdefault("multiTenancyConfig", {"enabled": False, "autoTenantCreation": False})
        cfg.setdefault(
            "replicationConfig",
            {"factor": 1, "asyncEnabled": False, "deletionStrategy": "NoAutomatedResolution"},
        )
        cfg.setdefault(
            "shardingConfig",
            {
                "virtualPerPhysical": 128,
                "desiredCount": 1,
                "actualCount": 1,
                "desiredVirtualCount": 128,
                "actualVirtualCount": 128,
                "key": "_id",
                "strategy": "hash",
                "function": "murmur3",
            },
        )
        self.classes[name] = cfg
        self.objects[name] = {}
        return _json(copy.deepcopy(cfg))

    # -- data model --------------------------------------------------------------------
    def prop_types(self, cls: str) -> dict[str, str]:
        return {p["name"]: p["dataType"][0] for p in self.classes[cls]["properties"]}

    def tokenization(self, cls: str, prop: str) -> str | None:
        for p in self.classes[cls]["properties"]:
            if p["name"] == prop:
                return p.get("tokenization")
        return None

    def distance_metric(self, cls: str) -> str:
        return str(self.classes[cls]["vectorConfig"]["default"]["vectorIndexConfig"]["distance"])

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq


class FakeAbort(Exception):
    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        self.code = code
        self.details = details
        super().__init__(details)


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


def _json_list(body: list[Any]) -> Response:
    return Response(json.dumps(body), status=200, content_type="application/json")


def _health_handler(fake: FakeWeaviate) -> grpc.GenericRpcHandler:
    def check(request: Any, context: grpc.ServicerContext) -> Any:
        fake.grpc_log.append(("Health", request))
        return health_weaviate_pb2.WeaviateHealthCheckResponse(
            status=health_weaviate_pb2.WeaviateHealthCheckResponse.SERVING
        )

    return grpc.method_handlers_generic_handler(
        "grpc.health.v1.Health",
        {
            "Check": grpc.unary_unary_rpc_method_handler(
                check,
                request_deserializer=health_weaviate_pb2.WeaviateHealthCheckRequest.FromString,
                response_serializer=health_weaviate_pb2.WeaviateHealthCheckResponse.SerializeToString,
            )
        },
    )


# -- filters -------------------------------------------------------------------------------


def _field_token(value: str) -> str | None:
    """Weaviate's field tokenization: the whole value, whitespace trimmed; empty -> no token."""
    token = value.strip()
    return token or None


class _Eval:
    def __init__(self, fake: FakeWeaviate, cls: str) -> None:
        self.fake = fake
        self.cls = cls
        self.types = fake.prop_types(cls)

    def check(self, f: Any) -> None:
        op = f.operator
        if op in (Op.OPERATOR_AND, Op.OPERATOR_OR, Op.OPERATOR_NOT):
            if op == Op.OPERATOR_NOT and self.fake.version_tuple() < (1, 33):
                raise FakeAbort(grpc.StatusCode.INVALID_ARGUMENT, "unknown filter operator Not")
            if op == Op.OPERATOR_NOT and len(f.filters) != 1:
                raise FakeAbort(grpc.StatusCode.INVALID_ARGUMENT, "Not takes exactly one operand")
            if not f.filters:
                raise FakeAbort(grpc.StatusCode.INVALID_ARGUMENT, "And/Or need operands")
            for c in f.filters:
                self.check(c)
            return
        prop = f.target.property or (f.on[0] if f.on else "")
        if prop == "_id":
            return
        if prop not in self.types:
            raise FakeAbort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"no such prop with name '{prop}' found in class '{self.cls}' in the schema",
            )
        dtype = self.types[prop]
        which = f.WhichOneof("test_value")
        base = dtype.removesuffix("[]")
        allowed = {
            "text": {"value_text", "value_text_array"},
            "number": {"value_number", "value_number_array"},
            "boolean": {"value_boolean", "value_boolean_array"},
            "int": {"value_int", "value_int_array"},
        }[base]
        if op == Op.OPERATOR_IS_NULL:
            allowed = {"value_boolean"}
        if which not in allowed:
            raise FakeAbort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"data type filter cannot use {which!r} on type {dtype!r}",
            )

    def matches(self, f: Any, obj: StoredObject) -> bool:
        op = f.operator
        if op == Op.OPERATOR_AND:
            return all(self.matches(c, obj) for c in f.filters)
        if op == Op.OPERATOR_OR:
            return any(self.matches(c, obj) for c in f.filters)
        if op == Op.OPERATOR_NOT:
            return not self.matches(f.filters[0], obj)
        prop = f.target.property or f.on[0]
        if prop == "_id":
            values = self._values(f)
            return (obj.uuid in values) != (op == Op.OPERATOR_NOT_EQUAL)
        raw = obj.props.get(prop)
        elements = raw if isinstance(raw, list) else ([] if raw is None else [raw])
        if self.types[prop].startswith("text") and self.fake.tokenization(self.cls, prop) == "field":
            elements = [t for t in (_field_token(e) for e in elements) if t is not None]
        values = self._values(f)
        if self.types[prop].startswith("text") and self.fake.tokenization(self.cls, prop) == "field":
            values = [t for t in (_field_token(v) for v in values) if t is not None]
        if op == Op.OPERATOR_IS_NULL:
            return (not elements) == f.value_boolean
        if op in (Op.OPERATOR_EQUAL, Op.OPERATOR_CONTAINS_ANY):
            return any(e == v and type(e) is type(v) for e in elements for v in values)
        if op == Op.OPERATOR_NOT_EQUAL:
            return not any(e == v for e in elements for v in values)
        if op == Op.OPERATOR_CONTAINS_ALL:
            return all(any(e == v for e in elements) for v in values)
        if op == Op.OPERATOR_CONTAINS_NONE:
            return not any(e == v for e in elements for v in values)
        if op == Op.OPERATOR_LIKE:
            return any(fnmatch.fnmatchcase(str(e), str(values[0])) for e in elements)
        v = values[0]
        cmp = {
            Op.OPERATOR_LESS_THAN: lambda e: e < v,
            Op.OPERATOR_LESS_THAN_EQUAL: lambda e: e <= v,
            Op.OPERATOR_GREATER_THAN: lambda e: e > v,
            Op.OPERATOR_GREATER_THAN_EQUAL: lambda e: e >= v,
        }[op]
        return any(cmp(e) for e in elements)

    @staticmethod
    def _values(f: Any) -> list[Any]:
        which = f.WhichOneof("test_value")
        if which is None:
            return []
        value = getattr(f, which)
        if which.endswith("_array"):
            return list(value.values)
        return [value]


# -- gRPC ----------------------------------------------------------------------------------


def _decode_f32(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<f4").astype(np.float32)


def _decode_f64(data: bytes) -> list[float]:
    return list(struct.unpack(f"<{len(data) // 8}d", data))


def _query_vector(nv: Any) -> np.ndarray:
    if len(nv.vectors):
        return _decode_f32(nv.vectors[0].vector_bytes)
    if len(nv.vector_for_targets):
        vft = nv.vector_for_targets[0]
        if len(vft.vectors):
            return _decode_f32(vft.vectors[0].vector_bytes)
        return _decode_f32(vft.vector_bytes)
    if nv.vector_bytes:
        return _decode_f32(nv.vector_bytes)
    return np.asarray(list(nv.vector), dtype=np.float32)


def _distance(metric: str, a: np.ndarray, b: np.ndarray) -> float:
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    if metric == "cosine":
        na, nb = np.linalg.norm(a64), np.linalg.norm(b64)
        return float(1.0 - (a64 @ b64) / (na * nb)) if na and nb else 1.0
    if metric == "dot":
        return float(-(a64 @ b64))
    d = a64 - b64
    return float(d @ d)


def _tokens(text: str) -> list[str]:
    return [t for t in re.split(r"[^0-9a-z]+", text.lower()) if t]


class _Servicer(weaviate_pb2_grpc.WeaviateServicer):
    def __init__(self, fake: FakeWeaviate) -> None:
        self.fake = fake

    def _enter(self, method: str, request: Any, context: grpc.ServicerContext) -> None:
        fake = self.fake
        with fake.lock:
            fake.grpc_log.append((method, request))
            fake.events.append(("grpc", method, ""))
            for err in fake.errors:
                if err.method == method and err.times > 0:
                    err.times -= 1
                    context.abort(err.code, err.details)
        if fake.api_key is not None:
            meta = dict(context.invocation_metadata())
            if meta.get("authorization") != f"Bearer {fake.api_key}":
                context.abort(grpc.StatusCode.UNAUTHENTICATED, "bad api key")

    def _guard(self, context: grpc.ServicerContext, fn: Any) -> Any:
        try:
            with self.fake.lock:
                return fn()
        except FakeAbort as exc:
            context.abort(exc.code, exc.details)

    def _class(self, name: str) -> str:
        if name not in self.fake.classes:
            raise FakeAbort(grpc.StatusCode.NOT_FOUND, f"could not find class {name} in schema")
        return name

    def _select(self, cls: str, filters: Any | None) -> list[StoredObject]:
        objs = list(self.fake.objects[cls].values())
        if filters is None:
            return objs
        ev = _Eval(self.fake, cls)
        ev.check(filters)
        return sorted((o for o in objs if ev.matches(filters, o)), key=lambda o: o.seq)

    # BatchObjects ------------------------------------------------------------------------
    def BatchObjects(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._enter("BatchObjects", request, context)
        return self._guard(context, lambda: self._batch(request))

    def _batch(self, request: Any) -> Any:
        errors = []
        for i, obj in enumerate(request.objects):
            try:
                self._store(obj)
            except FakeAbort as exc:
                errors.append(batch_pb2.BatchObjectsReply.BatchError(index=i, error=exc.details))
        return batch_pb2.BatchObjectsReply(took=0.001, errors=errors)

    def _store(self, obj: Any) -> None:
        cls = self._class(obj.collection)
        types = self.fake.prop_types(cls)
        props: dict[str, Any] = {}
        p = obj.properties
        for key, value in p.non_ref_properties.fields.items():
            props[key] = _struct_value(value)
        for arr in p.text_array_properties:
            props[arr.prop_name] = list(arr.values)
        for arr in p.number_array_properties:
            props[arr.prop_name] = _decode_f64(arr.values_bytes) if arr.values_bytes else list(arr.values)
        for arr in p.boolean_array_properties:
            props[arr.prop_name] = list(arr.values)
        for arr in p.int_array_properties:
            props[arr.prop_name] = list(arr.values)
        for name in p.empty_list_props:
            props[name] = []
        for key, value in props.items():
            if key not in types:
                raise FakeAbort(
                    grpc.StatusCode.INVALID_ARGUMENT, f"no such prop with name '{key}' (auto-schema off)"
                )
            want = types[key]
            ok = {
                "text": isinstance(value, str),
                "text[]": isinstance(value, list) and all(isinstance(v, str) for v in value),
                "number[]": isinstance(value, list) and all(isinstance(v, float) for v in value),
                "boolean[]": isinstance(value, list) and all(isinstance(v, bool) for v in value),
            }.get(want, False)
            if not ok:
                raise FakeAbort(
                    grpc.StatusCode.INVALID_ARGUMENT, f"invalid {want} property {key!r}: {value!r}"
                )
        if props.get("vecctx_id") in self.fake.reject:
            raise FakeAbort(grpc.StatusCode.INVALID_ARGUMENT, "rejected by the test")
        vecs = [v for v in obj.vectors if v.name == "default"]
        if not vecs:
            raise FakeAbort(grpc.StatusCode.INVALID_ARGUMENT, "no vector for target 'default'")
        vector = _decode_f32(vecs[0].vector_bytes)
        store = self.fake.objects[cls]
        dim = self.fake.dims.setdefault(cls, len(vector))
        if len(vector) != dim:
            raise FakeAbort(grpc.StatusCode.INVALID_ARGUMENT, "vector lengths don't match")
        old = store.get(obj.uuid)
        seq = old.seq if old is not None else self.fake.next_seq()
        store[obj.uuid] = StoredObject(uuid=obj.uuid, props=props, vector=vector, seq=seq)

    # BatchDelete -------------------------------------------------------------------------
    def BatchDelete(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._enter("BatchDelete", request, context)

        def run() -> Any:
            cls = self._class(request.collection)
            matched = self._select(cls, request.filters)[: self.fake.max_results]
            if not request.dry_run:
                for o in matched:
                    del self.fake.objects[cls][o.uuid]
            return batch_delete_pb2.BatchDeleteReply(
                took=0.001, failed=0, matches=len(matched), successful=len(matched)
            )

        return self._guard(context, run)

    # Aggregate ---------------------------------------------------------------------------
    def Aggregate(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._enter("Aggregate", request, context)

        def run() -> Any:
            cls = self._class(request.collection)
            n = len(self._select(cls, request.filters if request.HasField("filters") else None))
            return aggregate_pb2.AggregateReply(
                took=0.001, single_result=aggregate_pb2.AggregateReply.Single(objects_count=n)
            )

        return self._guard(context, run)

    # Search ------------------------------------------------------------------------------
    def Search(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._enter("Search", request, context)
        return self._guard(context, lambda: self._search(request))

    def _search(self, request: Any) -> Any:
        fake = self.fake
        cls = self._class(request.collection)
        flt = request.filters if request.HasField("filters") else None
        if request.after and flt is not None:
            raise FakeAbort(
                grpc.StatusCode.INVALID_ARGUMENT, "a cursor (after) cannot be combined with filters"
            )
        if request.offset + request.limit > fake.max_results:
            raise FakeAbort(grpc.StatusCode.INVALID_ARGUMENT, "query maximum results exceeded")
        candidates = self._select(cls, flt)
        scored: list[tuple[StoredObject, float | None, float | None]]
        metric = fake.distance_metric(cls)
        if request.HasField("near_vector"):
            q = _query_vector(request.near_vector)
            ranked = sorted(((o, _distance(metric, q, o.vector)) for o in candidates), key=lambda t: t[1])
            scored = [(o, d, None) for o, d in ranked]
        elif request.HasField("hybrid_search"):
            scored = self._hybrid(request.hybrid_search, candidates, metric)
        else:
            if flt is None:
                candidates.sort(key=lambda o: uuid.UUID(o.uuid).bytes)
            if request.after:
                after = uuid.UUID(request.after).bytes
                candidates = [o for o in candidates if uuid.UUID(o.uuid).bytes > after]
            scored = [(o, None, None) for o in candidates]
        limit = request.limit or len(scored)
        page = scored[request.offset : request.offset + limit]
        return search_get_pb2.SearchReply(
            took=0.001, results=[self._result(request, o, d, s) for o, d, s in page]
        )

    def _hybrid(
        self, h: Any, candidates: list[StoredObject], metric: str
    ) -> list[tuple[StoredObject, float | None, float | None]]:
        terms = _tokens(h.query)
        kw: list[tuple[StoredObject, float]] = []
        for o in candidates:
            words = _tokens(str(o.props.get(h.properties[0] if h.properties else "vecctx_text", "")))
            s = float(sum(words.count(t) for t in terms))
            if s > 0:
                kw.append((o, s))
        kw.sort(key=lambda t: -t[1])
        vec: list[tuple[StoredObject, float]] = []
        if len(h.vectors):
            q = _decode_f32(h.vectors[0].vector_bytes)
        elif h.HasField("near_vector"):
            q = _query_vector(h.near_vector)
        elif h.vector_bytes:
            q = _decode_f32(h.vector_bytes)
        else:
            q = None
        if q is not None:
            vec = sorted(((o, -_distance(metric, q, o.vector)) for o in candidates), key=lambda t: -t[1])
        weights = [1.0 - h.alpha, h.alpha]
        fused: dict[str, float] = {}
        objs: dict[str, StoredObject] = {}
        for w, lst in zip(weights, [kw, vec], strict=True):
            if not lst:
                continue
            if h.fusion_type == base_search_pb2.Hybrid.FUSION_TYPE_RANKED:
                for i, (o, _) in enumerate(lst):
                    fused[o.uuid] = fused.get(o.uuid, 0.0) + w / (i + 60)
                    objs[o.uuid] = o
            else:
                vals = [s for _, s in lst]
                lo, hi = min(vals), max(vals)
                for o, s in lst:
                    norm = (s - lo) / (hi - lo) if hi > lo else 1.0
                    fused[o.uuid] = fused.get(o.uuid, 0.0) + w * norm
                    objs[o.uuid] = o
        order = sorted(fused.items(), key=lambda kv: -kv[1])
        return [(objs[u], None, s) for u, s in order]

    def _result(self, request: Any, o: StoredObject, distance: float | None, score: float | None) -> Any:
        fields: dict[str, Any] = {}
        wanted = list(request.properties.non_ref_properties) if request.HasField("properties") else []
        if request.HasField("properties") and request.properties.return_all_nonref_properties:
            wanted = list(o.props)
        for name in wanted:
            value = o.props.get(name)
            if isinstance(value, str):
                fields[name] = properties_pb2.Value(text_value=value)
            elif isinstance(value, list) and all(isinstance(v, str) for v in value):
                fields[name] = properties_pb2.Value(
                    list_value=properties_pb2.ListValue(text_values=properties_pb2.TextValues(values=value))
                )
        md = request.metadata
        meta = search_get_pb2.MetadataResult(id=o.uuid, id_as_bytes=uuid.UUID(o.uuid).bytes)
        if md.distance and distance is not None:
            meta.distance = distance
            meta.distance_present = True
        if md.score and score is not None:
            meta.score = score
            meta.score_present = True
        if "default" in md.vectors or md.vector:
            meta.vectors.append(
                base_pb2.Vectors(
                    name="default",
                    vector_bytes=o.vector.astype("<f4").tobytes(),
                    type=base_pb2.Vectors.VECTOR_TYPE_SINGLE_FP32,
                )
            )
        return search_get_pb2.SearchResult(
            properties=search_get_pb2.PropertiesResult(
                non_ref_props=properties_pb2.Properties(fields=fields), target_collection=request.collection
            ),
            metadata=meta,
        )


def _struct_value(v: Any) -> Any:
    kind = v.WhichOneof("kind")
    if kind == "string_value":
        return v.string_value
    if kind == "number_value":
        return v.number_value
    if kind == "bool_value":
        return v.bool_value
    if kind == "null_value" or kind is None:
        return None
    if kind == "list_value":
        return [_struct_value(x) for x in v.list_value.values]
    return {k: _struct_value(x) for k, x in v.struct_value.fields.items()}


def wait_until(predicate: Any, timeout: float = 5.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.01)
    return False


__all__ = ["FakeError", "FakeWeaviate", "StoredObject", "math", "wait_until"]
