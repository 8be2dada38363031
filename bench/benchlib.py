"""The benchmark's pure parts: /proc parsing, statistics, wire parsers, the table.

Kept free of I/O and third-party imports so the template's test suite can
check them in milliseconds, and so the load generator (which runs inside a
rendered project's environment) can import the same SSE and chunked parsers.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# --- /proc -----------------------------------------------------------------


def cpu_ticks_from_stat(stat: str) -> int:
    """utime + stime (clock ticks, all threads) from the text of ``/proc/<pid>/stat``.

    The command name (field 2) may hold spaces and parentheses, so fields are
    counted from the last ``)``: utime and stime are fields 14 and 15.
    """
    rest = stat[stat.rindex(")") + 2 :].split()
    # rest[0] is field 3 (state), so field N is rest[N - 3].
    return int(rest[14 - 3]) + int(rest[15 - 3])


def status_kib(status: str, field: str) -> int:
    """A ``kB`` field such as ``VmHWM`` or ``VmRSS`` from ``/proc/<pid>/status``."""
    match = re.search(rf"^{re.escape(field)}:\s+(\d+)\s+kB$", status, re.MULTILINE)
    if match is None:
        raise ValueError(f"{field} not found in /proc status")
    return int(match.group(1))


# --- statistics --------------------------------------------------------------


def median(values: Iterable[float]) -> float | None:
    """The median, or None when nothing was measured (a skipped or failed candidate)."""
    data = [v for v in values if v is not None]
    return statistics.median(data) if data else None


def ratio(value: float | None, baseline: float | None) -> float | None:
    """``value / baseline``; None when either side is missing or the baseline is zero."""
    if value is None or not baseline:
        return None
    return value / baseline


def interleaved(candidates: Sequence[str], reps: int) -> list[tuple[int, str]]:
    """Run order A B C, C B A, A B C ...: interleaved, and alternating direction so slow
    drift of a shared machine (another job starting) does not favour the first one."""
    order: list[tuple[int, str]] = []
    for rep in range(reps):
        names = list(candidates) if rep % 2 == 0 else list(reversed(candidates))
        order.extend((rep, name) for name in names)
    return order


# --- wrk ---------------------------------------------------------------------

_UNITS = {"k": 1e3, "M": 1e6, "G": 1e9}


def parse_wrk(output: str) -> dict[str, float]:
    """Requests, duration and failures from wrk's plain report."""
    total = re.search(r"(\d+) requests in ([\d.]+)(ms|s|m)", output)
    if total is None:
        raise ValueError("wrk printed no request count:\n" + output)
    scale = {"ms": 1e-3, "s": 1.0, "m": 60.0}[total.group(3)]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return {
        "requests": float(total.group(1)),
        "elapsed": float(total.group(2)) * scale,
        "non_2xx": float(non2xx.group(1)) if non2xx else 0.0,
        "socket_errors": float(sum(int(g) for g in errors.groups())) if errors else 0.0,
    }


# --- HTTP/1.1 responses, chunked bodies and SSE frames -------------------------


def callgrind_instructions(output: str) -> int:
    """The instructions a program executed, from the summary valgrind's callgrind prints."""
    match = re.search(r"^==\d+== Collected : (\d+)$", output, re.MULTILINE)
    if match is None:
        raise ValueError(f"no instruction count in callgrind's output: {output[-300:]!r}")
    return int(match.group(1))


def http_status(head: bytes) -> int | None:
    """The status code at the start of an HTTP/1.x response, None until a whole one arrives.

    The start-up poller reads only this much of each answer: parsing more
    would cost time on the clock it is reading.
    """
    match = re.match(rb"HTTP/1\.[01] (\d{3})[ \r]", head)
    return int(match.group(1)) if match else None


class Dechunker:
    """Incremental decoder of an HTTP/1.1 chunked body; ``done`` after the last chunk."""

    def __init__(self) -> None:
        self.buffer = b""
        self.done = False

    def feed(self, data: bytes) -> bytes:
        """Return the payload bytes completed by ``data``; keep the rest buffered."""
        buffer = self.buffer + data
        out: list[bytes] = []
        pos = 0
        while not self.done:
            end = buffer.find(b"\r\n", pos)
            if end < 0:
                break
            size = int(buffer[pos:end].split(b";", 1)[0], 16)
            if size == 0:
                # Last chunk: no trailers expected, just the closing CRLF.
                if len(buffer) < end + 4:
                    break
                pos = end + 4
                self.done = True
                break
            if len(buffer) < end + 2 + size + 2:
                break
            out.append(buffer[end + 2 : end + 2 + size])
            pos = end + 2 + size + 2
        self.buffer = buffer[pos:]
        return b"".join(out)


@dataclass
class SseCount:
    """Events seen on one SSE stream, by kind."""

    tokens: int = 0
    done: int = 0
    errors: int = 0
    comments: int = 0


class SseCounter:
    """Counts SSE events as bytes arrive: enough parsing to check a stream, no more.

    An event is a block ending in a blank line; ``event: done`` / ``event:
    error`` name the closing events, a block of only ``:`` lines is a
    keep-alive, any other block with ``data:`` is a token.
    """

    def __init__(self) -> None:
        self.buffer = b""
        self.count = SseCount()

    def feed(self, data: bytes) -> SseCount:
        data = self.buffer + data  # joined first: a CRLF may arrive split in two
        if b"\r" in data:
            data = data.replace(b"\r\n", b"\n")
        blocks = data.split(b"\n\n")
        self.buffer = blocks.pop()
        count = self.count
        for block in blocks:
            if not block:
                continue
            if block.startswith(b":") and b"\ndata" not in block:
                count.comments += 1
            elif b"event: done" in block or b"event:done" in block:
                count.done += 1
            elif b"event: error" in block or b"event:error" in block:
                count.errors += 1
            elif b"data:" in block:
                count.tokens += 1
        return count


# --- the report ----------------------------------------------------------------


def fmt(value: float | None, pattern: str = "{:.2f}") -> str:
    return "-" if value is None else pattern.format(value)


def render_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured Markdown table, also readable on a terminal."""
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    return "\n".join(
        [line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
        + [line(r) for r in rows]
    )
