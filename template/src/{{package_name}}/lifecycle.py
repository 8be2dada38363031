"""Process lifecycle: knowing that shutdown has begun, so long streams can say goodbye.

uvicorn stops accepting connections on SIGTERM but waits for open streams
without telling them anything. Streams watch ``Lifecycle.shutting_down`` and
end themselves cleanly; readiness turns 503 so a load balancer stops sending.

WebSockets need one more step: uvicorn closes every open socket with 1012 the
moment its own shutdown begins, which would cut a session's goodbye (the
``end`` of a cancelled reply) short. So the signal reaches uvicorn only once
every connection registered with ``goodbye()`` has finished, or after
``goodbye_timeout`` seconds, whichever comes first.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import structlog

logger = structlog.get_logger(__name__)

_Handler = Callable[[int, FrameType | None], Any] | int | None


class Lifecycle:
    """Draining state shared by readiness and every long-lived connection."""

    def __init__(self, goodbye_timeout: float = 5.0) -> None:
        self.shutting_down = asyncio.Event()
        self.goodbye_timeout = goodbye_timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._previous: dict[int, _Handler] = {}
        self._open_goodbyes = 0
        self._no_goodbyes_pending = asyncio.Event()
        self._no_goodbyes_pending.set()
        self._tasks: set[asyncio.Task[None]] = set()

    @contextmanager
    def goodbye(self) -> Iterator[None]:
        """Hold the server's shutdown until this connection has said goodbye."""
        self._open_goodbyes += 1
        self._no_goodbyes_pending.clear()
        try:
            yield
        finally:
            self._open_goodbyes -= 1
            if self._open_goodbyes == 0:
                self._no_goodbyes_pending.set()

    @property
    def draining(self) -> bool:
        return self.shutting_down.is_set()

    def begin_draining(self) -> None:
        """Flip to draining; safe to call more than once."""
        if not self.shutting_down.is_set():
            logger.info("draining", reason="shutdown requested")
            self.shutting_down.set()

    def install_signal_hooks(self) -> None:
        """Start draining on SIGTERM/SIGINT, then let the server's own handler run.

        Chaining (instead of replacing) keeps uvicorn's shutdown intact, and works
        under the CLI, plain ``uvicorn`` and multi-worker runs alike. Only the
        main thread may install handlers; under a test client we skip it.
        """
        if threading.current_thread() is not threading.main_thread():
            return
        self._loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous = signal.getsignal(sig)
            self._previous[sig] = previous
            signal.signal(sig, self._on_signal)

    def restore_signal_hooks(self) -> None:
        for sig, previous in self._previous.items():
            if signal.getsignal(sig) == self._on_signal:
                signal.signal(sig, previous if previous is not None else signal.SIG_DFL)
        self._previous.clear()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self._loop is None or self.draining:
            self._pass_on(signum, frame)  # a second signal: no more waiting
            return
        self._loop.call_soon_threadsafe(self._drain_then_pass_on, signum, frame)

    def _drain_then_pass_on(self, signum: int, frame: FrameType | None) -> None:
        self.begin_draining()
        task = asyncio.get_running_loop().create_task(self._await_goodbyes(signum, frame))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _await_goodbyes(self, signum: int, frame: FrameType | None) -> None:
        try:
            async with asyncio.timeout(self.goodbye_timeout):
                await self._no_goodbyes_pending.wait()
        except TimeoutError:
            logger.warning("goodbye_timeout", pending=self._open_goodbyes)
        self._pass_on(signum, frame)

    def _pass_on(self, signum: int, frame: FrameType | None) -> None:
        previous = self._previous.get(signum)
        if callable(previous):
            previous(signum, frame)
        elif previous == signal.SIG_DFL:
            raise KeyboardInterrupt
