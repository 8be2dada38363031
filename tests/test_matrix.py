"""Every combination of the toggles renders, lints, type-checks and passes its own tests.

Each combination gets its own environment, synced exactly from its own lock
file: a shared superset environment would hide a dependency a combination
forgot. ``conftest.worker_environment`` says where it lives and why.
Every stage's time is recorded on the test's report; ``tests/stage_report.py``
prints them per combination at the end of the run.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from pytest_copie.plugin import Copie

from .conftest import (
    QUESTIONS,
    TOGGLES,
    all_combinations,
    combination_id,
    combination_type_cache,
    copy_with,
    lasting_project,
    worker_environment,
)
from .stage_report import StageClock

COMBINATIONS = all_combinations()

# Schemathesis runs against these two, with this many examples per operation;
# the other combinations leave the generated projects' fuzz tests out (their
# routes are subsets of the every-toggle service's, and fuzzing all 32 would
# cost more than the rest of their suites).
FUZZED = (
    {name: bool(QUESTIONS[name].get("default")) for name in TOGGLES},
    dict.fromkeys(TOGGLES, True),
)
FUZZ_EXAMPLES = "20"


def run_step(name: str, command: list[str], project: Path, env: dict[str, str]) -> None:
    """Run one tool in the project; fail with its output."""
    result = subprocess.run(
        command, cwd=project, env=env, capture_output=True, text=True, timeout=900
    )
    if result.returncode != 0:
        pytest.fail(
            f"{name} failed in {project} (exit {result.returncode}):\n"
            f"{result.stdout[-8000:]}\n{result.stderr[-4000:]}",
            pytrace=False,
        )


def sync(project: Path, env: dict[str, str]) -> None:
    """``uv sync``, resolving from uv's cache first and from the index where that falls short.

    An online resolution revalidates every index page it reads, which is most
    of a sync's time; the cache holds the pages and wheels that the same
    run's online syncs (the services of the defaults and of every toggle,
    whose dependencies include every combination's) and earlier runs
    fetched. On a cold cache the offline attempt fails at once and the sync
    goes online.
    """
    offline = subprocess.run(
        ["uv", "sync", "--quiet", "--offline"], cwd=project, env=env, capture_output=True
    )
    if offline.returncode != 0:
        run_step("uv sync", ["uv", "sync", "--quiet"], project, env)


@pytest.mark.slow
@pytest.mark.parametrize("combination", COMBINATIONS, ids=combination_id)
def test_combination_passes_every_check(
    combination: dict[str, bool],
    template_repo: Path,
    copie: Copie,
    worker_id: str,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> None:
    clock = StageClock(request.node)
    with clock.stage("render"):
        project = lasting_project(
            copy_with(copie, template_repo, **combination), combination_id(combination)
        )
    env = worker_environment(tmp_path_factory, worker_id)
    # uv's default link mode (hardlinks from its cache where the file system
    # allows) is much faster than "copy"; nothing in the checks writes into
    # the installed packages.
    with clock.stage("sync"):
        sync(project, env)
    tool = ["uv", "run", "--no-sync"]
    with clock.stage("ruff"):
        run_step("ruff check", [*tool, "ruff", "check", "."], project, env)
        run_step("ruff format --check", [*tool, "ruff", "format", "--check", "."], project, env)
    with clock.stage("mypy"), combination_type_cache(env, combination_id(combination), project):
        run_step("mypy --strict", [*tool, "mypy"], project, env)
    pytest_args = os.environ.get("GENERATED_PYTEST_ARGS", "-q -p no:cacheprovider").split()
    if combination in FUZZED:
        env = {**env, "API_FUZZ_MAX_EXAMPLES": FUZZ_EXAMPLES}
    else:
        # Not collected at all: collecting would import schemathesis and build an app;
        # and without them, the pytest plugins of schemathesis and hypothesis (loaded
        # at every start, importing both) have nothing to do.
        pytest_args += [
            "--ignore-glob=tests/test_*fuzz.py",
            *("-p", "no:schemathesis", "-p", "no:hypothesispytest"),
        ]
    with clock.stage("tests"):
        run_step("pytest", [*tool, "pytest", *pytest_args], project, env)
