"""Resumable streams: the model generates into a buffer, in a task of its own.

The request that asks for a resumable stream does not pull the model's tokens
itself: a producer task does, into the stream's buffer, and the response is
only the stream's first reader. A client that drops therefore does not stop
the model; the producer keeps generating while a reader is attached, or one
left less than the grace period ago (on any process, with ``redis``). When
the grace period passes with nobody reading, the producer closes the model's
iterator, which stops generation as it does for an ordinary stream, and the
stream is forgotten. The producer holds the caller's stream slot for as long
as it runs, so the per-caller cap bounds background generation too.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass

import structlog
from starlette.types import Scope

from ..errors import error_payload
from ..llm.port import FinishReason, LLMError, TokenDelta, Usage
from ..metrics.registry import ServiceMetrics
from .buffer import Ending, LocalStream, StreamBuffer
from .frames import StreamSummary
from .response import MAX_DURATION_CODE, SHUTDOWN_CODE

logger = structlog.get_logger(__name__)

# How often, at most, a producer looks for readers; a shorter grace period looks more often.
MAX_WATCH_INTERVAL_SECONDS = 1.0
# At shutdown, how long producers get to write their endings.
CLOSE_WAIT_SECONDS = 1.0


def new_stream_id() -> str:
    """128 random bits in hex: unguessable, and free of the ``-`` that ends it in event ids."""
    return secrets.token_hex(16)


@dataclass(frozen=True, slots=True)
class Generation:
    """A model stream whose first token was pulled, and what to release when it ends."""

    first: TokenDelta | None
    tokens: AsyncIterator[TokenDelta]
    cleanup: AsyncExitStack
    started: float
    deadline: float


class ResumableStreams:
    """This process's producers, and the buffer they write to."""

    def __init__(
        self,
        buffer: StreamBuffer,
        shutting_down: asyncio.Event,
        grace_seconds: float,
        metrics: ServiceMetrics,
    ) -> None:
        self.buffer = buffer
        self.shutting_down = shutting_down
        self.grace_seconds = grace_seconds
        self.metrics = metrics
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(
        self,
        stream_id: str,
        owner: str,
        chat_id: str | None,
        generation: Generation,
        scope: Scope,
    ) -> LocalStream:
        """Create the stream's buffer and start generating into it."""
        try:
            stream = await self.buffer.create(stream_id, owner, chat_id)
        except BaseException:
            await generation.cleanup.aclose()
            raise
        task = asyncio.get_running_loop().create_task(self._produce(stream, generation, scope))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return stream

    async def aclose(self) -> None:
        """Let producers write their endings (shutdown stopped them), then stop the rest."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=CLOSE_WAIT_SECONDS)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.buffer.aclose()

    async def _produce(self, stream: LocalStream, generation: Generation, scope: Scope) -> None:
        buffer = self.buffer
        index = 0
        reason: FinishReason = "stop"
        usage: Usage | None = None
        stops: list[str] = []
        task = asyncio.current_task()
        assert task is not None
        watcher = asyncio.get_running_loop().create_task(self._watch(stream, task, stops))
        ending: Ending
        try:
            async with asyncio.timeout_at(generation.deadline):
                delta = generation.first
                if delta is not None:
                    if delta.text:
                        await self._append(stream, delta.text, stops)
                        index = 1
                    reason = delta.finish_reason or reason
                    usage = delta.usage
                    async for delta in generation.tokens:
                        if delta.finish_reason is not None:
                            reason, usage = delta.finish_reason, delta.usage
                        if delta.text:
                            await self._append(stream, delta.text, stops)
                            index += 1
        except TimeoutError:
            message = "The stream reached its maximum duration."
            ending = _error(scope, 504, MAX_DURATION_CODE, message)
        except (asyncio.CancelledError, _StoppedError) as exc:
            if not stops:
                raise
            # A stop arrives as our cancellation or, when a library swallowed that
            # (redis-py's pipelines may), as the flag seen after the next token.
            if isinstance(exc, asyncio.CancelledError):
                if task.uncancel() > 0:
                    raise  # cancelled by someone else as well
            elif task.cancelling():
                task.uncancel()
            if stops[0] == "abandoned":
                logger.info("stream_abandoned", stream_id=stream.stream_id, tokens=index)
                await buffer.abandon(stream)
                return
            ending = _error(scope, 503, SHUTDOWN_CODE, "The server shut down mid-answer.")
        except LLMError as exc:
            logger.warning("stream_upstream_error", error=type(exc).__name__, tokens=index)
            ending = _error(scope, exc.status_code, exc.code, exc.public_message)
        except Exception:
            logger.exception("stream_failed", tokens=index)
            ending = _error(scope, 500, "internal_error", "The stream failed.")
        else:
            duration_ms = round((time.perf_counter() - generation.started) * 1000, 3)
            ending = Ending(StreamSummary(index, duration_ms, reason, usage))
        finally:
            watcher.cancel()
            await generation.cleanup.aclose()
        await buffer.finish(stream, ending)

    async def _append(self, stream: LocalStream, text: str, stops: list[str]) -> None:
        evicted = await self.buffer.append(stream, text)
        if evicted:
            self.metrics.stream_events_evicted.inc(evicted)
        if stops:
            raise _StoppedError

    async def _watch(
        self, stream: LocalStream, producer: asyncio.Task[None], stops: list[str]
    ) -> None:
        """Stop the producer at shutdown, or when the grace period passed with no reader."""
        interval = min(MAX_WATCH_INTERVAL_SECONDS, self.grace_seconds / 4)
        while True:
            try:
                async with asyncio.timeout(interval):
                    await self.shutting_down.wait()
                stops.append("shutdown")
                producer.cancel()
                return
            except TimeoutError:
                pass
            if not await self.buffer.readers_present(stream):
                stops.append("abandoned")
                producer.cancel()
                return


class _StoppedError(Exception):
    """The watcher stopped the producer (its cancellation may not have reached it)."""


def _error(scope: Scope, status: int, code: str, message: str) -> Ending:
    return Ending(status=status, error=error_payload(scope, status, code, message))
