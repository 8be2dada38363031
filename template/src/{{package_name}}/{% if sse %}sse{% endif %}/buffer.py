"""The buffer of a resumable stream: its events, bounded, for readers to replay and follow.

A resumable stream is one generation, produced in the background into a
buffer keyed by a random stream id. Its events are numbered from 0: one per
token, then one ending (``done`` or ``error``). Readers (the response to the
request that started it, and every resume) replay the events after a
position, then follow the live tail to the ending.

The buffer is bounded: at most ``max_events`` events and ``max_bytes`` bytes of
token text are kept, the oldest tokens evicted first (the ending always
stays). A reader that asks for an evicted event gets ``EventsEvictedError``,
never a silent gap.

This module holds what every buffer shares and the in-process one; with
``redis``, ``redis_buffer.py`` shares streams between processes.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Protocol

from .frames import StreamSummary

# Finished streams this process keeps for replay; the oldest go first beyond it.
MAX_FINISHED_IN_MEMORY = 1_000


@dataclass(frozen=True, slots=True)
class Ending:
    """How a stream ended: its summary (``done``), or an error status and payload."""

    summary: StreamSummary | None = None
    status: int = 200
    error: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Batch:
    """Consecutive events from ``first``: tokens, then the ending if it has come.

    An empty batch means nothing new within a keep-alive interval.
    """

    first: int
    tokens: Sequence[str] = ()
    ending: Ending | None = None


@dataclass(frozen=True, slots=True)
class BufferLimits:
    """What one stream may keep, and for how long."""

    max_events: int
    max_bytes: int
    grace_seconds: float
    ttl_seconds: float
    keepalive_seconds: float


class StreamNotFoundError(Exception):
    """No such stream for this caller: unknown, expired, abandoned or another's."""


class EventsEvictedError(Exception):
    """The events a reader asks for were evicted to keep the buffer within its caps."""

    def __init__(self, wanted: int, oldest: int) -> None:
        super().__init__(f"event {wanted} was evicted; the oldest kept is {oldest}")
        self.wanted = wanted
        self.oldest = oldest


class NothingAfterError(Exception):
    """The stream has ended and the reader has every event already."""


class InvalidPositionError(Exception):
    """The reader claims events the stream has not produced."""


class BufferUnavailableError(Exception):
    """The shared buffer (Redis) cannot be reached."""


class Reader(Protocol):
    """One reader's view: batches from its position to the ending."""

    def batches(self) -> AsyncIterator[Batch]:
        """Replay, then the live tail; an empty batch when idle; ends after the ending."""
        ...

    async def aclose(self) -> None:
        """Stop reading; the stream's grace period starts when its last reader leaves."""
        ...


class StreamBuffer(Protocol):
    """Where resumable streams live; the producer writes, readers read."""

    async def create(self, stream_id: str, owner: str, chat_id: str | None) -> LocalStream:
        """A new stream, written by this process's producer."""
        ...

    async def append(self, stream: LocalStream, text: str) -> int:
        """One more token; how many old events were evicted for it."""
        ...

    async def finish(self, stream: LocalStream, ending: Ending) -> None:
        """The last event; the stream stays readable for the time to live."""
        ...

    async def abandon(self, stream: LocalStream) -> None:
        """Forget a stream nobody reads (the grace period passed)."""
        ...

    async def readers_present(self, stream: LocalStream) -> bool:
        """Whether a reader is attached, or one left less than the grace period ago."""
        ...

    async def open_reader(self, stream_id: str, owner: str, start: int) -> Reader:
        """A reader from event ``start``; ``StreamNotFoundError`` and friends before any byte."""
        ...

    async def active_stream(self, owner: str, chat_id: str) -> str | None:
        """The stream still generating for this caller's chat, if any."""
        ...

    async def aclose(self) -> None:
        """Release connections at shutdown."""
        ...


@dataclass(slots=True, eq=False)
class LocalStream:
    """A stream produced in this process: its kept tokens, its ending, its readers."""

    stream_id: str
    owner: str
    chat_id: str | None
    limits: BufferLimits
    tokens: deque[str] = field(default_factory=deque)
    sizes: deque[int] = field(default_factory=deque)
    oldest: int = 0
    """Number of the first kept token; the ones before it were evicted."""
    size: int = 0
    """Bytes of ``tokens`` together."""
    ending: Ending | None = None
    readers: int = 0
    last_left: float = field(default_factory=time.monotonic)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def next(self) -> int:
        """Number of the next event."""
        return self.oldest + len(self.tokens)

    def push(self, text: str) -> int:
        """Keep one more token; evict the oldest beyond the caps; how many were evicted."""
        length = len(text.encode())
        self.tokens.append(text)
        self.sizes.append(length)
        self.size += length
        evicted = 0
        limits = self.limits
        # One event is kept for the ending.
        while len(self.tokens) > 1 and (
            len(self.tokens) >= limits.max_events or self.size > limits.max_bytes
        ):
            self.tokens.popleft()
            self.size -= self.sizes.popleft()
            self.oldest += 1
            evicted += 1
        self._wake()
        return evicted

    def end(self, ending: Ending) -> None:
        self.ending = ending
        self._wake()

    def _wake(self) -> None:
        changed, self.changed = self.changed, asyncio.Event()
        changed.set()

    def attach(self) -> None:
        self.readers += 1

    def detach(self) -> None:
        self.readers -= 1
        self.last_left = time.monotonic()

    def has_readers(self) -> bool:
        return self.readers > 0 or time.monotonic() - self.last_left < self.limits.grace_seconds

    def check_start(self, start: int) -> None:
        """Refuse a start that is evicted, already past the ending, or not produced yet."""
        if start < self.oldest:
            raise EventsEvictedError(start, self.oldest)
        if self.ending is not None and start > self.next:
            raise NothingAfterError
        if start > self.next:
            raise InvalidPositionError


class LocalReader:
    """Reads a ``LocalStream`` of this process, waking on each new event."""

    def __init__(self, stream: LocalStream, start: int) -> None:
        stream.check_start(start)
        self.stream = stream
        self.position = start
        stream.attach()
        self._attached = True

    async def batches(self) -> AsyncIterator[Batch]:
        stream = self.stream
        wait = stream.limits.keepalive_seconds
        while True:
            changed = stream.changed
            position = self.position
            if position < stream.oldest:
                raise EventsEvictedError(position, stream.oldest)
            available = stream.next - position
            if available > 0:
                tokens = list(islice(stream.tokens, position - stream.oldest, None))
                self.position = stream.next
                ending = stream.ending
                yield Batch(position, tokens, ending)
                if ending is not None:
                    return
                continue
            if stream.ending is not None:
                yield Batch(position, (), stream.ending)
                return
            try:
                async with asyncio.timeout(wait):
                    await changed.wait()
            except TimeoutError:
                yield Batch(position)

    async def aclose(self) -> None:
        if self._attached:
            self._attached = False
            self.stream.detach()


class MemoryStreamBuffer:
    """Streams in this process's memory: resumable on this process only."""

    def __init__(self, limits: BufferLimits) -> None:
        self.limits = limits
        self._streams: dict[str, LocalStream] = {}
        self._finished: OrderedDict[str, float] = OrderedDict()
        self._chats: dict[tuple[str, str], str] = {}

    def _forget_expired(self) -> None:
        now = time.monotonic()
        finished = self._finished
        while finished and (
            len(finished) > MAX_FINISHED_IN_MEMORY or next(iter(finished.values())) <= now
        ):
            stream_id, _ = finished.popitem(last=False)
            self._streams.pop(stream_id, None)

    async def create(self, stream_id: str, owner: str, chat_id: str | None) -> LocalStream:
        self._forget_expired()
        stream = LocalStream(stream_id, owner, chat_id, self.limits)
        self._streams[stream_id] = stream
        if chat_id is not None:
            self._chats[owner, chat_id] = stream_id
        return stream

    async def append(self, stream: LocalStream, text: str) -> int:
        return stream.push(text)

    def _release_chat(self, stream: LocalStream) -> None:
        key = (stream.owner, stream.chat_id or "")
        if stream.chat_id is not None and self._chats.get(key) == stream.stream_id:
            del self._chats[key]

    async def finish(self, stream: LocalStream, ending: Ending) -> None:
        stream.end(ending)
        self._release_chat(stream)
        self._finished[stream.stream_id] = time.monotonic() + self.limits.ttl_seconds
        self._forget_expired()

    async def abandon(self, stream: LocalStream) -> None:
        self.drop(stream)

    def drop(self, stream: LocalStream) -> None:
        """Forget the stream here; its readers keep what they hold."""
        self._release_chat(stream)
        self._streams.pop(stream.stream_id, None)

    async def readers_present(self, stream: LocalStream) -> bool:
        return stream.has_readers()

    def local(self, stream_id: str, owner: str) -> LocalStream | None:
        """The stream if this process holds it and it is ``owner``'s."""
        self._forget_expired()
        stream = self._streams.get(stream_id)
        return stream if stream is not None and stream.owner == owner else None

    async def open_reader(self, stream_id: str, owner: str, start: int) -> Reader:
        stream = self.local(stream_id, owner)
        if stream is None:
            raise StreamNotFoundError(stream_id)
        return LocalReader(stream, start)

    async def active_stream(self, owner: str, chat_id: str) -> str | None:
        return self._chats.get((owner, chat_id))

    async def aclose(self) -> None:
        return None
