"""Resume a resumable stream: everything that may refuse it happens here, before a 200.

Only the caller that started a stream may resume it (the quota key: user,
else API key, else client address). Anyone else gets the same 404 as for an
unknown id: stream ids come from the server, so another caller has nothing to
fix by knowing that an id exists, and a 403 would confirm it. Events already
evicted are a 410 (``stream_events_evicted``); a stream that ended and whose
events the caller has all is a 204, which also tells a browser's
``EventSource`` to stop reconnecting.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ..errors import AppError
from ..lifecycle import Lifecycle
from ..ratelimit.keys import caller_of
from ..settings import Settings
from .buffer import (
    BufferUnavailableError,
    EventsEvictedError,
    InvalidPositionError,
    NothingAfterError,
    Reader,
    StreamNotFoundError,
)
from .frames import EventFormat
from .producer import ResumableStreams
from .replay import EVICTED_CODE, UNAVAILABLE_CODE, ReplayStream
from .start import STREAM_ID_HEADER, admit, retry_after_header, stream_limits

NOT_FOUND_CODE = "stream_not_found"
NOT_FOUND_MESSAGE = "No such stream for this caller; it may have ended and expired."


def start_from(stream_id: str, last_event_id: str | None, after: int | None) -> int:
    """The first event to send: after ``Last-Event-ID``, else after ``after``, else 0.

    ``Last-Event-ID`` wins: a browser sends the id of the last event it really
    got, which is newer than a position written into the URL.
    """
    if last_event_id is not None:
        prefix, _, number = last_event_id.rpartition("-")
        if prefix != stream_id or not (number.isascii() and number.isdigit()):
            # A conflict between the header and the path: it names no event of this stream.
            raise AppError(
                409,
                "invalid_last_event_id",
                "Last-Event-ID must be an event id of this stream: <stream id>-<number>.",
            )
        return int(number) + 1
    return 0 if after is None else after + 1


async def resume_token_stream(
    request: Request, stream_id: str, start: int, events: EventFormat
) -> Response:
    """Replay ``stream_id`` from event ``start``, then follow it to its end."""
    state = request.app.state
    settings: Settings = state.settings
    lifecycle: Lifecycle = state.lifecycle
    # Readers hold connections (and, with Redis, a blocked read): capped per caller.
    cleanup = await admit(request, "resume:", "concurrent_resumes")
    caller = caller_of(request.scope)
    try:
        reader = await _open_reader(request, stream_id, caller.key, start)
    except BaseException:
        await cleanup.aclose()
        raise
    if reader is None:
        await cleanup.aclose()
        return Response(status_code=204)
    return ReplayStream(
        reader=reader,
        start=start,
        events=events,
        shutting_down=lifecycle.shutting_down,
        limits=stream_limits(settings),
        metrics=state.metrics,
        headers={STREAM_ID_HEADER: stream_id},
        cleanup=cleanup,
    )


async def _open_reader(request: Request, stream_id: str, owner: str, start: int) -> Reader | None:
    """The reader, or None when the caller has every event; the refusals as ``AppError``."""
    state = request.app.state
    streams: ResumableStreams = state.resumable_streams
    outcomes = state.metrics.stream_resumes
    try:
        reader = await streams.buffer.open_reader(stream_id, owner, start)
    except StreamNotFoundError:
        outcomes.labels("not_found").inc()
        raise AppError(404, NOT_FOUND_CODE, NOT_FOUND_MESSAGE) from None
    except EventsEvictedError as exc:
        outcomes.labels("evicted").inc()
        message = (
            f"Events from {exc.wanted} on were evicted to keep the stream within its caps; "
            f"the oldest kept is {exc.oldest}."
        )
        raise AppError(410, EVICTED_CODE, message) from None
    except NothingAfterError:
        outcomes.labels("complete").inc()
        return None
    except InvalidPositionError:
        message = "The stream has not produced that event yet."
        raise AppError(400, "invalid_resume_position", message) from None
    except BufferUnavailableError:
        message = "Resumable streams are unavailable; try again shortly."
        retry_after = retry_after_header(state.settings)
        raise AppError(503, UNAVAILABLE_CODE, message, retry_after) from None
    outcomes.labels("resumed").inc()
    return reader
