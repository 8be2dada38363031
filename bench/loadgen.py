"""The lean load generator: raw asyncio streams for HTTP and SSE, ``websockets`` for chat.

Runs as its own process (pinned to the other core) inside a rendered
project's environment, which has uvloop and websockets. Prints one JSON
object with what it completed. Kept lean on purpose: every microsecond the
client spends is one the server is not measured for.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from collections import Counter
from typing import Any

from benchlib import Dechunker, SseCounter


def _request(args: argparse.Namespace) -> bytes:
    body = args.body.encode()
    head = [
        f"POST {args.path} HTTP/1.1",
        f"Host: {args.host}:{args.port}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        *args.header,
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def _header(head: bytes, name: bytes) -> bytes | None:
    lower = head.lower()
    start = lower.find(b"\r\n" + name + b":")
    if start < 0:
        return None
    start += len(name) + 3
    return head[start : head.index(b"\r\n", start)].strip()


async def _http_worker(args: argparse.Namespace, deadline: float, stats: Counter[str]) -> None:
    reader, writer = await asyncio.open_connection(args.host, args.port)
    request = _request(args)
    try:
        while time.perf_counter() < deadline:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(_header(head, b"content-length") or b"0")
            await reader.readexactly(length)
            stats[head[9:12].decode()] += 1
    finally:
        writer.close()


async def _read_sse(reader: asyncio.StreamReader, head: bytes, counter: SseCounter) -> None:
    """Read one SSE response to its end, feeding the counter; keeps the connection usable."""
    if _header(head, b"transfer-encoding") == b"chunked":
        dechunker = Dechunker()
        while not dechunker.done:
            data = await reader.read(65536)
            if not data:
                raise ConnectionError("server closed mid-stream")
            counter.feed(dechunker.feed(data))
    elif (length := _header(head, b"content-length")) is not None:
        counter.feed(await reader.readexactly(int(length)))
    else:
        counter.feed(await reader.read())


async def _sse_worker(args: argparse.Namespace, deadline: float, stats: Counter[str]) -> None:
    reader, writer = await asyncio.open_connection(args.host, args.port)
    request = _request(args)
    try:
        while time.perf_counter() < deadline:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = head[9:12].decode()
            counter = SseCounter()
            if status != "200":
                length = int(_header(head, b"content-length") or b"0")
                await reader.readexactly(length)
                stats[f"status_{status}"] += 1
                continue
            await _read_sse(reader, head, counter)
            count = counter.count
            stats["streams"] += 1
            stats["tokens"] += count.tokens
            stats["keepalives"] += count.comments
            if count.done != 1 or count.errors or count.tokens != args.expect_tokens:
                stats["bad_streams"] += 1
    finally:
        writer.close()


async def _hold_stream(args: argparse.Namespace, opened: asyncio.Queue[int]) -> None:
    """Open one stream, report its first token, then keep reading until cancelled."""
    reader, writer = await asyncio.open_connection(args.host, args.port)
    try:
        writer.write(_request(args))
        head = await reader.readuntil(b"\r\n\r\n")
        if head[9:12] != b"200":
            await opened.put(0)
            return
        counter = SseCounter()
        dechunker = Dechunker()
        reported = False
        while data := await reader.read(65536):
            counter.feed(dechunker.feed(data))
            if not reported and counter.count.tokens:
                reported = True
                await opened.put(1)
        if not reported:
            await opened.put(0)
    finally:
        writer.close()


async def sse_hold(args: argparse.Namespace) -> dict[str, Any]:
    """Open N streams, say ``ready`` once each has a token, close all on a line from stdin."""
    opened: asyncio.Queue[int] = asyncio.Queue()
    tasks = []
    for _ in range(args.connections):
        tasks.append(asyncio.ensure_future(_hold_stream(args, opened)))
        await asyncio.sleep(0.001)  # a gentle ramp: no SYN flood on the listen backlog
    live = 0
    for _ in range(args.connections):
        live += await opened.get()
    print(f"ready {live}", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {"open_streams": live}


async def _ws_worker(args: argparse.Namespace, deadline: float, stats: Counter[str]) -> None:
    from websockets.asyncio.client import connect

    headers = [tuple(h.split(": ", 1)) for h in args.header]
    # One conversation per connection: in a shared one every reply fans out to
    # all clients, and a client waiting for its own "end" lets the others'
    # frames pile up until the chat closes it as too slow (1013).
    uri = f"ws://{args.host}:{args.port}{args.path}-{uuid.uuid4().hex[:12]}"
    message = json.dumps({"type": "message", "content": args.content})
    async with connect(uri, additional_headers=headers, compression=None, max_size=None) as ws:
        while time.perf_counter() < deadline:
            await ws.send(message)
            tokens = 0
            while True:
                frame = json.loads(await ws.recv())
                kind = frame.get("type")
                if kind == "token":
                    tokens += 1
                elif kind == "end":
                    break
                elif kind == "error":
                    stats[f"error_{frame.get('code')}"] += 1
                    break
            stats["messages"] += 1
            stats["tokens"] += tokens
            if tokens != args.expect_tokens:
                stats["bad_messages"] += 1


async def timed(args: argparse.Namespace, worker: Any) -> dict[str, Any]:
    stats: Counter[str] = Counter()
    started = time.perf_counter()
    deadline = started + args.duration
    results = await asyncio.gather(
        *(worker(args, deadline, stats) for _ in range(args.connections)), return_exceptions=True
    )
    elapsed = time.perf_counter() - started
    failures = [repr(r) for r in results if isinstance(r, BaseException)]
    return {"elapsed": elapsed, "counts": dict(stats), "worker_failures": failures[:3]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mode", choices=["http", "sse", "sse-hold", "ws"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--body", default="{}")
    parser.add_argument("--content", default="hello")
    parser.add_argument("--header", action="append", default=[], help="'Name: value'")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--expect-tokens", type=int, default=0)
    args = parser.parse_args()
    if args.mode == "sse-hold":
        job = sse_hold(args)
    else:
        worker = {"http": _http_worker, "sse": _sse_worker, "ws": _ws_worker}[args.mode]
        job = timed(args, worker)
    try:
        import uvloop
    except ImportError:
        result = asyncio.run(job)
    else:
        result = uvloop.run(job)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
