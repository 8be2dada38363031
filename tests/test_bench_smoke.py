"""The benchmark's pure parts: what it reads from /proc, how it counts, how it decides.

The benchmark itself is not run here (it needs quiet cores and minutes); these
checks make sure that the figures it prints are computed from the right
fields, and that its stream parser counts what the wire carries.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from benchlib import (
    Dechunker,
    SseCounter,
    callgrind_instructions,
    cpu_ticks_from_stat,
    http_status,
    interleaved,
    median,
    parse_wrk,
    ratio,
    render_table,
    status_kib,
)

# A real /proc/<pid>/stat line whose command name holds a space and a parenthesis.
STAT = (
    "4242 (uvicorn (w) 1) S 1 4242 4242 0 -1 4194560 5113 0 0 0 "
    "731 129 0 0 20 0 3 0 123456 400000000 20000 18446744073709551615 "
    "1 1 0 0 0 0 0 16781312 16386 0 0 0 17 0 0 0 0 0 0"
)


def test_cpu_ticks_add_user_and_system_time_after_an_awkward_command_name() -> None:
    assert cpu_ticks_from_stat(STAT) == 731 + 129


def test_cpu_ticks_of_this_very_process_grow_with_work() -> None:
    if not Path("/proc/self/stat").exists():
        pytest.skip("no /proc on this system")
    before = cpu_ticks_from_stat(Path(f"/proc/{os.getpid()}/stat").read_text())
    deadline_ticks = before + 2
    spins = 0
    while cpu_ticks_from_stat(Path(f"/proc/{os.getpid()}/stat").read_text()) < deadline_ticks:
        spins += sum(range(1000))
    assert spins > 0


def test_status_fields_are_read_in_kib() -> None:
    status = "Name:\tpython\nVmPeak:\t  300000 kB\nVmHWM:\t   65944 kB\nVmRSS:\t   60000 kB\n"
    assert status_kib(status, "VmHWM") == 65944
    assert status_kib(status, "VmRSS") == 60000
    with pytest.raises(ValueError, match="VmSwap"):
        status_kib(status, "VmSwap")


def test_median_ignores_missing_measurements_and_ratio_needs_a_baseline() -> None:
    assert median([3.0, 1.0, 2.0, None]) == 2.0  # type: ignore[list-item]
    assert median([]) is None
    assert ratio(30.0, 60.0) == 0.5
    assert ratio(30.0, 0.0) is None
    assert ratio(None, 60.0) is None


def test_candidates_are_interleaved_in_alternating_order() -> None:
    assert interleaved(["A", "B", "C"], 3) == [
        (0, "A"), (0, "B"), (0, "C"),
        (1, "C"), (1, "B"), (1, "A"),
        (2, "A"), (2, "B"), (2, "C"),
    ]  # fmt: skip


def test_wrk_report_gives_requests_elapsed_and_failures() -> None:
    output = """Running 5s test @ http://127.0.0.1:8000/api/v1/generate
  1 threads and 50 connections
  10443 requests in 5.09s, 5.74MB read
  Socket errors: connect 0, read 1, write 0, timeout 2
  Non-2xx or 3xx responses: 7
Requests/sec:   2051.70
"""
    assert parse_wrk(output) == {
        "requests": 10443.0,
        "elapsed": 5.09,
        "non_2xx": 7.0,
        "socket_errors": 3.0,
    }
    with pytest.raises(ValueError, match="no request count"):
        parse_wrk("unable to connect to 127.0.0.1:8000 Connection refused")


def test_chunked_body_is_decoded_across_arbitrary_splits() -> None:
    wire = b"8\r\nid: 0\nda\r\n10\r\nta: {}\n\nevent: d\r\n0\r\n\r\n"
    for size in (1, 2, 5, len(wire)):
        decoder = Dechunker()
        payload = b"".join(decoder.feed(wire[i : i + size]) for i in range(0, len(wire), size))
        assert payload == b"id: 0\ndata: {}\n\nevent: d"
        assert decoder.done


def test_sse_counter_tells_tokens_from_keepalives_and_closing_events() -> None:
    stream = (
        b'id: 0\ndata: {"token": "a", "index": 0}\n\n'
        b": keep-alive\n\n"
        b'id: 1\r\ndata: {"token": "b", "index": 1}\r\n\r\n'
        b'event: done\ndata: {"total_tokens": 2}\n\n'
        b'event: error\ndata: {"code": "upstream_error"}\n\n'
    )
    counter = SseCounter()
    for i in range(0, len(stream), 3):
        counter.feed(stream[i : i + 3])
    count = counter.count
    assert (count.tokens, count.comments, count.done, count.errors) == (2, 1, 1, 1)


def test_table_columns_line_up() -> None:
    table = render_table(["name", "x"], [["bare", "1.00x"], ["full stack", "0.61x"]])
    lines = table.splitlines()
    assert len({len(line) for line in lines}) == 1
    assert lines[0].startswith("| name ")


def test_status_is_read_from_a_whole_status_line_only() -> None:
    assert http_status(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n") == 200
    assert http_status(b"HTTP/1.0 503 Service Unavailable\r\n") == 503
    assert http_status(b"HTTP/1.1 204\r\n") == 204
    assert http_status(b"HTTP/1.1 20") is None  # the rest is still on the wire
    assert http_status(b"") is None  # closed before answering
    assert http_status(b"SSH-2.0-OpenSSH\r\n") is None


def test_callgrind_instructions_are_read_from_its_summary_only() -> None:
    output = (
        "==9415== Callgrind, a call-graph generating cache profiler\n"
        "==9415== For interactive control, run 'callgrind_control -h'.\n"
        "==9415== \n"
        "==9415== Events    : Ir\n"
        "==9415== Collected : 2315651004\n"
        "==9415== \n"
        "==9415== I   refs:      2,315,651,004\n"
    )
    assert callgrind_instructions(output) == 2_315_651_004
    with pytest.raises(ValueError, match="no instruction count"):
        callgrind_instructions("valgrind: failed to start tool 'callgrind'\n")
