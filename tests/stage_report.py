"""The suite's time budget, made visible: per combination and per stage.

``tests/test_matrix.py`` records how long each stage of a combination took
(render, sync, ruff, mypy, the generated tests) on the test's report, which
pytest-xdist carries back from its workers. At the end of the run this prints
one row per combination, the column totals, and the run's wall time, longest
combination first; ``STAGE_REPORT=path.json`` also writes them as JSON.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

STAGE_PROPERTY = "stage_seconds"
STAGES = ("render", "sync", "ruff", "mypy", "tests")


def collect(reports: list[Any]) -> dict[str, dict[str, float]]:
    """Stage times by test id, from the call reports that carry them."""
    rows: dict[str, dict[str, float]] = {}
    for report in reports:
        if getattr(report, "when", None) != "call":
            continue
        for name, value in getattr(report, "user_properties", ()):
            if name == STAGE_PROPERTY and value:
                rows[report.nodeid.split("[", 1)[-1].rstrip("]")] = dict(value)
    return rows


def format_table(
    rows: dict[str, dict[str, float]], others: dict[str, float], wall: float
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
    wall = time.perf_counter() - _STARTED
    terminalreporter.section("stage times (seconds)")
    for line in format_table(rows, others, wall):
        terminalreporter.write_line(line)
    target = os.environ.get("STAGE_REPORT")
    if target:
        Path(target).write_text(
            json.dumps(
                {"wall_seconds": wall, "combinations": rows, "other_tests": others}, indent=2
            )
        )
