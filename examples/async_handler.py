"""An async web handler: one coroutine per request, async down to the database client.

The store is qdrant-client's native ``AsyncQdrantClient`` (here in local mode; give
``qdrant://host:6333`` for a server): no thread pool hides behind ``await``.

Run: python examples/async_handler.py   (serves on 127.0.0.1, asks itself two questions, exits)
"""

import asyncio
import json
import os
from urllib.parse import parse_qs, urlsplit

import vecctx
from vecctx import Augmenter, CollectionSpec, Record, default_embedder
from vecctx.loaders import data_root, load_beir

URL = os.environ.get("VECCTX_ASYNC_STORE", "qdrant+local://:memory:")


async def setup() -> Augmenter:
    store = vecctx.connect_async(URL)
    embedder = default_embedder()
    docs = list(load_beir(data_root() / "scifact", limit=100))
    vectors = embedder.embed_documents([d.text for d in docs])
    await store.ensure_collection(CollectionSpec(name="web", dimension=embedder.dimension))
    await store.upsert(
        "web",
        [Record(d.id, v, d.text, {"doc_id": d.id, **d.metadata}) for d, v in zip(docs, vectors, strict=True)],
    )
    return Augmenter(async_store=store, collection="web", embedder=embedder, k=3, budget=700)


async def handle(aug: Augmenter, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    request_line = (await reader.readline()).decode()
    while (await reader.readline()) not in (b"\r\n", b""):
        pass  # skip headers
    query = parse_qs(urlsplit(request_line.split()[1]).query)
    prompt = await aug.aaugment(query.get("q", [""])[0])
    body = json.dumps(
        {
            "messages": prompt.messages,
            "sources": [s.doc_id for s in prompt.sources],
            "timings_ms": prompt.timings,
        }
    ).encode()
    writer.write(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
        % (len(body), body)
    )
    await writer.drain()
    writer.close()


async def ask(port: int, question: str) -> dict[str, object]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    path = "/ask?q=" + question.replace(" ", "+")
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    raw = await reader.read()
    writer.close()
    return json.loads(raw.split(b"\r\n\r\n", 1)[1])


async def main() -> None:
    aug = await setup()
    server = await asyncio.start_server(lambda r, w: handle(aug, r, w), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        answers = await asyncio.gather(
            ask(port, "vitamin D and bone fractures"), ask(port, "gene expression in T cells")
        )
    for a in answers:
        print(a["sources"], {k: round(v, 1) for k, v in a["timings_ms"].items()})  # type: ignore[union-attr]


asyncio.run(main())
