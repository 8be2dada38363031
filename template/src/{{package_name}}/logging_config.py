"""Structured logging: JSON lines in production, readable lines in development.

The request-context middleware sets ``REQUEST_ID`` for each request, so every
log line written while serving it carries the id without plumbing.

The service's own lines (one access line per request, above all) are rendered
by structlog and leave through ``LINE_BUFFER``: info and debug lines wait at
most ``FLUSH_SECONDS`` (or until 64 KiB are pending) and go out in one write,
like nginx's ``access_log ... buffer= flush=``; warnings and errors are written
at once, after whatever was pending, so nothing is reordered. A write of its
own per line would dominate what the middleware stack costs a request. What is
pending is written at exit and before any standard-library log record; a
killed process loses at most ``FLUSH_SECONDS`` of info lines.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import sys
import threading
from collections.abc import Callable
from contextvars import ContextVar
from typing import BinaryIO

import orjson
import structlog

FLUSH_SECONDS = 0.1
FLUSH_BYTES = 64 * 1024

REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
"""The id of the request being served, set by the request-context middleware.

A plain context variable read by one processor: cheaper per request than
structlog's ``bind_contextvars``, which ``merge_contextvars`` still serves for
anything else bound per request or task.
"""


# One instance for structlog's pipeline and AccessLog, so both stamp alike.
_TIMESTAMPER = structlog.processors.TimeStamper(fmt="iso", utc=True)
# Set by configure_logging: JSON lines with info enabled, so AccessLog renders its own.
_render_access_lines = False


def _add_request_id(
    logger: object, method_name: str, event_dict: structlog.types.EventDict
) -> structlog.types.EventDict:
    request_id = REQUEST_ID.get()
    if request_id is not None:
        event_dict.setdefault("request_id", request_id)
    return event_dict


def _stderr() -> BinaryIO:
    # Looked up at every write, so a replaced sys.stderr (tests) is honoured.
    return sys.stderr.buffer


class LineBuffer:
    """Collect rendered lines and write them in batches; see the module docstring."""

    def __init__(self, stream: Callable[[], BinaryIO] = _stderr) -> None:
        self._stream = stream
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._lock = threading.Lock()
        self._flush_scheduled_on: asyncio.AbstractEventLoop | None = None

    def write(self, line: bytes, urgent: bool = False) -> None:
        with self._lock:
            self._pending.append(line)
            self._pending_bytes += len(line)
            if urgent or self._pending_bytes >= FLUSH_BYTES:
                self._flush_locked()
                return
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # no event loop (CLI, startup): nothing would flush later
                self._flush_locked()
                return
            if self._flush_scheduled_on is not loop:
                self._flush_scheduled_on = loop
                loop.call_later(FLUSH_SECONDS, self.flush)

    def flush(self) -> None:
        with self._lock:
            self._flush_locked()

    def _flush_locked(self) -> None:
        self._flush_scheduled_on = None
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._pending.clear()
        self._pending_bytes = 0
        stream = self._stream()
        stream.write(data)
        stream.flush()


LINE_BUFFER = LineBuffer()
atexit.register(LINE_BUFFER.flush)


class _BufferedLogger:
    """structlog's output end: knows its name (for ``add_logger_name``), writes to LINE_BUFFER."""

    def __init__(self, name: str = "root", *args: object) -> None:
        self.name = name

    def _later(self, message: str | bytes) -> None:
        LINE_BUFFER.write(_line(message))

    def _now(self, message: str | bytes) -> None:
        LINE_BUFFER.write(_line(message), urgent=True)

    debug = info = msg = log = _later
    warning = warn = error = err = exception = critical = fatal = failure = _now


def _line(message: str | bytes) -> bytes:
    return (message if isinstance(message, bytes) else message.encode()) + b"\n"


class _OrderedStreamHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes the standard library's records after the service's pending lines."""

    def emit(self, record: logging.LogRecord) -> None:
        LINE_BUFFER.flush()
        super().emit(record)


class AccessLog:
    """Writes the one line per request that says what was asked and how it ended.

    With JSON lines this class renders that line itself, byte for byte what
    structlog's pipeline below renders (a test compares the two): the line is
    written on every request, and the pipeline's generic steps (copying the
    context, a call per processor) have nothing to decide for it.
    The readable development format, lines of a request whose code bound
    structlog context variables, and every other line go through structlog.
    """

    def __init__(self) -> None:
        self._render = _render_access_lines
        self._log = structlog.get_logger("access").bind()

    def write(
        self, method: str, path: str, status: int, duration_ms: float, client: str | None
    ) -> None:
        if not self._render or structlog.contextvars.get_contextvars():
            self._log.info(
                "request",
                method=method,
                path=path,
                status=status,
                duration_ms=duration_ms,
                client=client,
            )
            return
        line: structlog.types.EventDict = {
            "method": method,
            "path": path,
            "status": status,
            "duration_ms": duration_ms,
            "client": client,
            "event": "request",
        }
        # What the processors add, in their order (merge_contextvars added nothing).
        request_id = REQUEST_ID.get()
        if request_id is not None:
            line["request_id"] = request_id
        line["level"] = "info"
        line["logger"] = "access"
        LINE_BUFFER.write(orjson.dumps(_TIMESTAMPER(None, "info", line)) + b"\n")


def configure_logging(
    level: str = "INFO", json_logs: bool = False, trace_ids: bool = False
) -> None:
    """Give structlog and the standard library (uvicorn included) one format and one stream.

    With ``trace_ids`` (tracing on), lines written inside a traced request
    carry its trace and span ids, so a log search leads to the trace.
    """
    global _render_access_lines
    _render_access_lines = (
        json_logs and logging.getLevelName(level.upper()) <= logging.INFO and not trace_ids
    )
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        _add_request_id,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        _TIMESTAMPER,
    ]
    if trace_ids:
        from .tracing.logs import add_trace_ids

        shared.insert(2, add_trace_ids)
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if json_logs else _console_renderer()
    )
    exc_info: structlog.types.Processor = (
        structlog.processors.format_exc_info if json_logs else _keep
    )
    # The service's own events render and write directly, as structlog's
    # performance notes advise: the standard library's handlers and formatter
    # multiply the CPU a line costs, and orjson renders faster than json.
    direct_renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer(serializer=orjson.dumps) if json_logs else renderer
    )
    structlog.configure(
        processors=[*shared, exc_info, direct_renderer],
        logger_factory=_BufferedLogger,
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            exc_info,
            renderer,
        ],
    )
    handler = _OrderedStreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's own handlers would print a second, unstructured copy.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True


def _console_renderer() -> structlog.dev.ConsoleRenderer:
    """Readable lines; highlighted (Rich) tracebacks only for a person at a terminal.

    Captured output (tests, pipes, files) gets plain tracebacks, which cost no
    syntax highlighting and never load Pygments.
    """
    at_terminal = sys.stderr.isatty()
    return structlog.dev.ConsoleRenderer(
        colors=at_terminal,
        exception_formatter=(
            structlog.dev.default_exception_formatter
            if at_terminal
            else structlog.dev.plain_traceback
        ),
    )


def _keep(
    logger: object, method_name: str, event_dict: structlog.types.EventDict
) -> structlog.types.EventDict:
    return event_dict
