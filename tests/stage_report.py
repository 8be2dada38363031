"""The suite's time budget, made visible: per combination and per stage.

``tests/test_matrix.py`` records how long each stage of a combination took
(render, sync, ruff, mypy, the generated tests) on the test's report, which
pytest-xdist carries back from its workers. At the end of the run this prints
one row per combination, the column totals, and the run's wall time, longest
combination first; ``STAGE_REPORT=path.json`` also writes them as JSON.

Wall times of tests that share two cores with other workers say little about
cost, so every test also records the CPU time it used (its worker's and that of
the subprocesses it waited for); the summary gives the CPU totals per stage and
for the other tests, which is the figure that sets the run's length on a
machine the suite keeps busy.
"""

from __future__ import annotations

import json
import os
import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

STAGE_PROPERTY = "stage_seconds"
STAGE_CPU_PROPERTY = "stage_cpu_seconds"
CPU_PROPERTY = "cpu_seconds"
STAGES = ("render", "sync", "ruff", "mypy", "tests")


def cpu_seconds() -> float:
    """CPU used so far by this process and by the subprocesses it has waited for."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class StageClock:
    """Wall and CPU seconds of each named stage of one test, recorded on its report."""

    def __init__(self, item: pytest.Item) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        item.user_properties.append((STAGE_PROPERTY, self.wall))
        item.user_properties.append((STAGE_CPU_PROPERTY, self.cpu))

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        wall, cpu = time.perf_counter(), cpu_seconds()
        yield
        self.wall[name] = time.perf_counter() - wall
        self.cpu[name] = cpu_seconds() - cpu


def _add_cpu(item: pytest.Item, seconds: float) -> None:
    for index, (name, value) in enumerate(item.user_properties):
        if name == CPU_PROPERTY:
            item.user_properties[index] = (name, value + seconds)
            return
    item.user_properties.append((CPU_PROPERTY, seconds))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    started = cpu_seconds()
    try:
        return (yield)
    finally:
        _add_cpu(item, cpu_seconds() - started)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    started = cpu_seconds()
    try:
        return (yield)
    finally:
        _add_cpu(item, cpu_seconds() - started)


def collect(reports: list[Any], prop: str = STAGE_PROPERTY) -> dict[str, dict[str, float]]:
    """Stage times (or CPU times) by combination, from the call reports that carry them."""
    rows: dict[str, dict[str, float]] = {}
    for report in reports:
        if getattr(report, "when", None) != "call":
            continue
        for name, value in getattr(report, "user_properties", ()):
            if name == prop and value:
                rows[report.nodeid.split("[", 1)[-1].rstrip("]")] = dict(value)
    return rows


def cpu_by_test_id(reports: list[Any]) -> dict[str, float]:
    """CPU seconds (setup and call) by test id."""
    return {
        report.nodeid: value
        for report in reports
        if getattr(report, "when", None) == "call"
        for name, value in getattr(report, "user_properties", ())
        if name == CPU_PROPERTY
    }


def format_table(
    rows: dict[str, dict[str, float]],
    others: dict[str, float],
    wall: float,
    cpu_rows: dict[str, dict[str, float]] | None = None,
    cpu_others: float = 0.0,
) -> list[str]:
    """A fixed-width table: one line per combination, then the totals."""
    width = max((len(name) for name in rows), default=11)
    header = f"{'combination':<{width}}" + "".join(f"{s:>8}" for s in STAGES) + f"{'total':>8}"
    lines = [header]
    ordered = sorted(rows.items(), key=lambda item: -sum(item[1].values()))
    for name, stages in ordered:
        cells = "".join(f"{stages.get(s, 0.0):8.1f}" for s in STAGES)
        lines.append(f"{name:<{width}}{cells}{sum(stages.values()):8.1f}")
    totals = {s: sum(stages.get(s, 0.0) for stages in rows.values()) for s in STAGES}
    cells = "".join(f"{totals[s]:8.1f}" for s in STAGES)
    lines.append(f"{'all (' + str(len(rows)) + ')':<{width}}{cells}{sum(totals.values()):8.1f}")
    lines.append("")
    lines.append(f"other tests: {sum(others.values()):.1f} s in all; the longest:")
    for name, seconds in sorted(others.items(), key=lambda item: -item[1])[:5]:
        lines.append(f"  {seconds:8.1f}  {name}")
    if cpu_rows:
        cpu = {s: sum(stages.get(s, 0.0) for stages in cpu_rows.values()) for s in STAGES}
        parts = ", ".join(f"{s} {cpu[s]:.1f}" for s in STAGES)
        lines.append(
            f"CPU seconds: combinations' stages {parts} (in all {sum(cpu.values()):.1f}); "
            f"other tests {cpu_others:.1f}"
        )
    lines.append(f"wall time of the whole run: {wall:.1f} s")
    return lines


_STARTED = time.perf_counter()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the table after pytest's own summary (on the controller under xdist)."""
    reports = [r for key in ("passed", "failed") for r in terminalreporter.stats.get(key, [])]
    rows = collect(reports)
    if not rows:
        return
    others = {
        r.nodeid: r.duration
        for r in reports
        if r.when == "call" and r.nodeid.split("[", 1)[-1].rstrip("]") not in rows
    }
    cpu_rows = collect(reports, STAGE_CPU_PROPERTY)
    cpu_by_test = cpu_by_test_id(reports)
    cpu_others = {
        name: seconds
        for name, seconds in cpu_by_test.items()
        if name.split("[", 1)[-1].rstrip("]") not in rows
    }
    wall = time.perf_counter() - _STARTED
    terminalreporter.section("stage times (seconds)")
    for line in format_table(rows, others, wall, cpu_rows, sum(cpu_others.values())):
        terminalreporter.write_line(line)
    target = os.environ.get("STAGE_REPORT")
    if target:
        Path(target).write_text(
            json.dumps(
                {
                    "wall_seconds": wall,
                    "combinations": rows,
                    "combinations_cpu": cpu_rows,
                    "other_tests": others,
                    "other_tests_cpu": cpu_others,
                },
                indent=2,
            )
        )
