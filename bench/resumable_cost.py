"""What a resumable stream costs per buffered token: process memory, and Redis memory.

Run it with a rendered project's environment (it imports the generated
package); the Redis figure needs ``redis-server`` on PATH:

    scripts/render.sh /tmp/svc --data sse=true --data redis=true
    cd /tmp/svc && uv run python ../path/to/bench/resumable_cost.py

Tokens are the fake model's words (a word and a space), each a new string as a
model's would be. Process memory is what ``tracemalloc`` sees the in-memory
buffer keep for ten streams; Redis memory is ``MEMORY USAGE`` of one stream's
key (exact: ``SAMPLES 0``) and the growth of ``INFO memory``'s ``used_memory``
over ten streams.
"""

from __future__ import annotations

import asyncio
import gc
import shutil
import socket
import subprocess
import time
import tracemalloc

import redis.asyncio as redis
from my_service.llm.fake import _VOCABULARY
from my_service.sse.buffer import BufferLimits, MemoryStreamBuffer
from my_service.sse.redis_buffer import RedisStreamBuffer
from prometheus_client import Counter

TOKENS_PER_STREAM = 4000
STREAMS = 10
LIMITS = BufferLimits(
    max_events=10 * TOKENS_PER_STREAM,
    max_bytes=10**9,
    grace_seconds=30,
    ttl_seconds=300,
    keepalive_seconds=15,
)
WORDS = [_VOCABULARY[n % len(_VOCABULARY)] + " " for n in range(TOKENS_PER_STREAM)]


def fresh(word: str) -> str:
    """A new string object with the word's text, as a model's token would be."""
    return word.encode().decode()


async def in_memory() -> float:
    buffer = MemoryStreamBuffer(LIMITS)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    kept = []
    for number in range(STREAMS):
        stream = await buffer.create(f"{number:032x}", "key:bench", None)
        for word in WORDS:
            await buffer.append(stream, fresh(word))
        kept.append(stream)
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    return grown / (STREAMS * TOKENS_PER_STREAM)


async def in_redis(port: int) -> tuple[int, float]:
    client = redis.Redis(port=port)
    await client.flushdb()
    failures = Counter("bench_failures", "unused", registry=None)
    buffer = RedisStreamBuffer(client, client, "bench:stream:", LIMITS, 300, failures)
    used_before = (await client.info("memory"))["used_memory"]
    for number in range(STREAMS):
        stream = await buffer.create(f"{number:032x}", "key:bench", None)
        for word in WORDS:
            await buffer.append(stream, fresh(word))
        buffer.memory.drop(stream)
    used_after = (await client.info("memory"))["used_memory"]
    one_key = await client.memory_usage(f"bench:stream:{0:032x}", samples=0)
    await client.aclose()
    return one_key, (used_after - used_before) / (STREAMS * TOKENS_PER_STREAM)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def main() -> None:
    average = sum(map(len, WORDS)) / len(WORDS)
    print(f"tokens: {STREAMS} streams x {TOKENS_PER_STREAM}, {average:.2f} characters on average")
    per_token = asyncio.run(in_memory())
    print(f"memory buffer: {per_token:.1f} bytes per token (tracemalloc)")
    if shutil.which("redis-server") is None:
        print("redis: skipped, redis-server is not on PATH")
        return
    port = free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        time.sleep(0.5)
        one_key, used = asyncio.run(in_redis(port))
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(
        f"redis: MEMORY USAGE of one stream key {one_key} bytes "
        f"({one_key / TOKENS_PER_STREAM:.1f} bytes per token); "
        f"used_memory grew {used:.1f} bytes per token"
    )


if __name__ == "__main__":
    main()
