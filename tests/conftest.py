"""Fixtures that render the template as it is in the working tree.

Copier renders the newest git tag unless told otherwise, so a test that
rendered this repository directly would test a stale release. Instead the
working tree (uncommitted changes included) is copied into a throwaway git
repository once per session and rendered at its HEAD.
"""

from __future__ import annotations

import fcntl
import filecmp
import hashlib
import itertools
import os
import shutil
import subprocess
import tomllib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

import copier
import pytest
import yaml
from pytest_copie.plugin import Copie

from . import copier_file_mode_cache, jinja_compile_cache

pytest_plugins = ("tests.stage_report",)
jinja_compile_cache.install()
copier_file_mode_cache.install()

ROOT = Path(__file__).resolve().parent.parent
IGNORED = shutil.ignore_patterns(
    ".git",
    ".venv",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    ".mypy_cache",
    "results",
    "node_modules",
)


def load_questions() -> dict[str, dict[str, Any]]:
    """The questions of ``copier.yml`` (settings and included hidden values skipped)."""
    questions: dict[str, dict[str, Any]] = {}
    for document in yaml.safe_load_all(
        (ROOT / "copier.yml").read_text().replace("!include", "#!include")
    ):
        for name, spec in (document or {}).items():
            if not name.startswith("_") and isinstance(spec, dict):
                questions[name] = spec
    return questions


QUESTIONS = load_questions()
TOGGLES: tuple[str, ...] = tuple(
    name for name, spec in QUESTIONS.items() if spec.get("type") == "bool"
)


def all_combinations() -> list[dict[str, bool]]:
    """Every on/off combination of the boolean questions: 2 ** len(TOGGLES)."""
    return [
        dict(zip(TOGGLES, values, strict=True))
        for values in itertools.product((True, False), repeat=len(TOGGLES))
    ]


def combination_id(combination: Mapping[str, bool]) -> str:
    return "-".join(name if on else f"no_{name}" for name, on in combination.items())


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-c", "user.name=template-tests", "-c", "user.email=tests@localhost", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout


def snapshot_template(destination: Path) -> Path:
    """Copy the working tree into a fresh git repository with one commit."""
    shutil.copytree(ROOT, destination, ignore=IGNORED)
    git(destination, "init", "--quiet", "--initial-branch=main")
    git(destination, "add", "--all")
    git(destination, "commit", "--quiet", "-m", "snapshot of the working tree")
    return destination


@pytest.fixture(scope="session")
def template_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return snapshot_template(tmp_path_factory.mktemp("template") / "repo")


def copy_with(copie: Copie, template: Path, **answers: Any) -> Path:
    """Render ``template`` with ``answers`` through pytest-copie; the project's path.

    pytest-copie picks the destination (under the test's ``tmp_path``) and
    removes it after the test; it passes the answers as Copier's user
    defaults, which Copier validates like any other answer.
    """
    result = copie.copy(extra_answers=answers, template_dir=template)
    if result.exception is not None:
        raise result.exception
    assert result.project_dir is not None
    return result.project_dir


def render(template: Path, destination: Path, **answers: Any) -> Path:
    """Render the template at its HEAD with the given answers (defaults for the rest)."""
    copier.run_copy(
        str(template),
        str(destination),
        data=answers,
        defaults=True,
        unsafe=True,
        vcs_ref="HEAD",
        quiet=True,
    )
    return destination


# Not passed on to a generated project: this suite's own environment, and a
# bytecode ban that would make every Python process of the project (its pytest,
# every service process its tests start) compile every module from source.
HIDDEN_VARIABLES = frozenset({"VIRTUAL_ENV", "PYTHONPATH", "PYTHONDONTWRITEBYTECODE"})


def clean_environment() -> dict[str, str]:
    """The environment for a generated project's tools: none of this suite's venv or APP_*."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("APP_") and name not in HIDDEN_VARIABLES
    }


def render_and_sync(
    template: Path, destination: Path, **answers: Any
) -> tuple[Path, dict[str, str]]:
    """A rendered service in its own environment (not a worker's shared one: the
    tests that use it start it as processes, while other tests on the worker
    re-sync theirs)."""
    project = render(template, destination, **answers)
    env = clean_environment()
    env.pop("UV_PROJECT_ENVIRONMENT", None)
    subprocess.run(["uv", "sync", "--quiet"], cwd=project, env=env, check=True, timeout=600)
    return project, env


RENDERED = {"defaults": {}, "every-toggle": dict.fromkeys(TOGGLES, True)}


@pytest.fixture(scope="session")
def rendered_services(
    template_repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], tuple[Path, dict[str, str]]]:
    """``rendered_services("defaults")`` or ``("every-toggle")``: (project, environment).

    Rendered and synced once per worker, for the tests that run services as
    processes; they share the xdist group ``rendered-services`` so that one
    worker renders each.
    """
    made: dict[str, tuple[Path, dict[str, str]]] = {}

    def get(name: str) -> tuple[Path, dict[str, str]]:
        if name not in made:
            destination = tmp_path_factory.mktemp(name) / "service"
            made[name] = render_and_sync(template_repo, destination, **RENDERED[name])
        return made[name]

    return get


# Roughly what each toggle adds to a combination's own suite (real processes,
# a Redis server, Strawberry's imports), to start the heaviest combinations first.
TOGGLE_WEIGHTS = {"redis": 3, "graphql": 2, "websocket": 2, "sse": 1, "jwt": 1}


def expected_cost(item: pytest.Item) -> int:
    """Higher for tests expected to run longer; only the ordering matters."""
    if item.get_closest_marker("longest") is not None:
        return 1000
    callspec = getattr(item, "callspec", None)
    combination = callspec.params.get("combination") if callspec else None
    if isinstance(combination, dict):
        return 10 + sum(TOGGLE_WEIGHTS.get(name, 1) for name, on in combination.items() if on)
    # The owner-edits update test runs a project's whole toolchain after two updates.
    return 25 if item.get_closest_marker("slow") is not None else 0


# Per-worker tool environments and mypy caches that outlive a run, so a run on
# a machine that ran the suite before starts with warm type-checking caches.
CACHE_ROOT = Path(
    os.environ.get("TEMPLATE_SUITE_CACHE")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "copier-fastapi-streaming"
)
_held_locks: dict[str, Any] = {}
# The combination cache each worker's mypy used last, by the worker cache it stands for.
_last_type_cache: dict[str, Path] = {}


def _hold(directory: Path, key: str) -> bool:
    """Create ``directory`` and lock it for the session under ``key``; False when
    another run of the suite holds it or the cache is not writable."""
    if key in _held_locks:
        return True
    try:
        directory.mkdir(parents=True, exist_ok=True)
        lock = (directory / "lock").open("w")
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    _held_locks[key] = lock
    return True


def _persistent_directory(worker_id: str) -> Path | None:
    """This worker's lasting directory, locked for the session; None if another run holds it."""
    directory = CACHE_ROOT / f"worker-{worker_id}"
    return directory if _hold(directory, worker_id) else None


def worker_environment(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> dict[str, str]:
    """The tool environment for generated projects checked on this xdist worker.

    One environment directory and one mypy cache per worker, reused by every
    project the worker checks in turn: ``uv sync`` makes the environment
    exactly what each project's lock file says (it removes what the previous
    project installed and this one does not declare), so a forgotten
    dependency still fails; at a fixed path, mypy's cache of the third-party
    packages and their compiled bytecode stay valid from one project to the
    next (mypy treats a package at another path as another package). Per
    worker, so no two processes ever write the same environment or cache.
    They live in ``CACHE_ROOT`` (``TEMPLATE_SUITE_CACHE`` overrides it) and
    survive the run, locked while a run uses them; a run that finds them
    locked uses throwaway ones.
    """
    shared = _persistent_directory(worker_id) or tmp_path_factory.getbasetemp().parent
    env = clean_environment()
    env["UV_PROJECT_ENVIRONMENT"] = str(shared / f"venv-{worker_id}")
    env["MYPY_CACHE_DIR"] = str(shared / f"mypy-cache-{worker_id}")
    return env


def package_set(project: Path) -> str:
    """The third-party packages a project's lock file pins, as one key.

    Combinations whose toggles add no package (``sse``, ``websocket``) share
    one: their environments hold the same packages.
    """
    lock = tomllib.loads((project / "uv.lock").read_text())
    pins = sorted(
        f"{package['name']}=={package.get('version', '')}"
        for package in lock.get("package", [])
        if "editable" not in package.get("source", {})
    )
    return hashlib.sha256("\n".join(pins).encode()).hexdigest()


# Beside a combination's type-checking cache: the package set it is made for,
# and the lock its writer holds while it is being made.
PACKAGES_FILE = "packages"
WRITING_LOCK = "writing"
# Held while a worker looks for a cache to copy and, finding none, claims the
# package set: two first runs of combinations with the same packages would
# otherwise both check them from nothing.
SEEDING_LOCK = "seeding.lock"


def _lock(path: Path, operation: int) -> TextIO:
    """``path`` opened and locked; closing it releases the lock."""
    lock = path.open("a")
    fcntl.flock(lock, operation)
    return lock


def _same_packages(packages: str, directory: Path) -> Path | None:
    """Another combination's cache folder whose cache is (being) made for these packages."""
    for marker in sorted((CACHE_ROOT / "mypy").glob(f"*/{PACKAGES_FILE}")):
        if marker.parent != directory and marker.read_text() == packages:
            return marker.parent
    return None


def _seed_type_cache(directory: Path, packages: str, fallback: Path | None) -> TextIO | None:
    """Fill a new cache folder with a copy of a cache made for the same packages,
    waiting while mypy writes it; None then. Where there is none, claim the
    package set (other workers wait for this folder's cache), start from
    ``fallback``, and return the writing lock."""
    writing: TextIO | None = None
    with _lock(CACHE_ROOT / "mypy" / SEEDING_LOCK, fcntl.LOCK_EX):
        source = _same_packages(packages, directory)
        if source is None:
            writing = _lock(directory / WRITING_LOCK, fcntl.LOCK_EX)
            (directory / PACKAGES_FILE).write_text(packages)
    if source is not None:
        with _lock(source / WRITING_LOCK, fcntl.LOCK_SH):
            if (source / "cache").is_dir():  # not when its writer stopped before mypy ran
                shutil.copytree(source / "cache", directory / "cache")
                return None
    try:
        if fallback is not None and fallback.is_dir():
            shutil.copytree(fallback, directory / "cache")
    except BaseException:
        if writing is not None:
            writing.close()
        raise
    return writing


@contextmanager
def combination_type_cache(env: dict[str, str], combination: str, project: Path) -> Iterator[None]:
    """Around a mypy run: point mypy at a cache of this combination's own, kept from run to run.

    Consecutive combinations on a worker differ in their core modules (the
    settings and the app factory follow the toggles), so a shared cache has
    every project module rechecked; a combination's own cache from an earlier
    run is stale only where the template changed since. mypy checks a cached
    module by its source's hash when the path differs, so the new render and
    the environment's path do not matter; but a third-party module whose
    optional imports resolve differently (another set of packages installed)
    is checked again, with everything that depends on it. A new cache
    therefore starts as a copy of one made for the same packages (waiting for
    it while mypy writes it) or, where there is none yet, of the worker's or
    of the cache this worker used last: without a seed every combination of a
    first run would check its third-party packages from nothing. ``project``
    must be synced: its lock file says which packages mypy sees. Locked for
    the session; when it is locked or not writable the worker's cache is used.
    """
    directory = CACHE_ROOT / "mypy" / combination
    if not _hold(directory, f"mypy-{combination}"):
        yield
        return
    cache = directory / "cache"
    worker_cache = env["MYPY_CACHE_DIR"]
    packages = package_set(project)
    writing = None
    if not cache.exists():
        seed = Path(worker_cache)
        writing = _seed_type_cache(
            directory, packages, seed if seed.is_dir() else _last_type_cache.get(worker_cache)
        )
    if writing is None:
        writing = _lock(directory / WRITING_LOCK, fcntl.LOCK_EX)
    with writing:  # no copy is made of the cache while mypy writes it
        (directory / PACKAGES_FILE).write_text(packages)
        _last_type_cache[worker_cache] = cache
        env["MYPY_CACHE_DIR"] = str(cache)
        yield


# What a checked project's own tools write inside it and may keep from run to run.
TOOL_CACHES = frozenset({"__pycache__", ".ruff_cache"})


def lasting_project(rendered: Path, combination: str) -> Path:
    """The rendered project, mirrored into a folder of the combination's own that
    outlives the run; ``rendered`` itself when that folder is locked or not writable.

    Every run renders afresh, and Python validates a module's bytecode by its
    source's modification time, so each combination would compile its whole
    package and have pytest rewrite every test module again. The mirror makes
    the folder hold exactly the new render (a file gone from the render goes
    from the folder) but leaves the files whose bytes did not change untouched,
    with their times, so the bytecode compiled from them in an earlier run
    stays valid and anything changed is compiled anew.
    """
    directory = CACHE_ROOT / "projects" / combination
    if not _hold(directory, f"project-{combination}"):
        return rendered
    project = directory / "project"
    mirror(rendered, project)
    return project


def mirror(source: Path, target: Path) -> None:
    """Make ``target`` hold exactly ``source``'s files (and its tools' caches),
    copying only the files whose bytes differ."""
    wanted: set[Path] = set()
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        wanted.add(relative)
        copy = target / relative
        if path.is_dir():
            if copy.exists() and not copy.is_dir():
                copy.unlink()
            copy.mkdir(parents=True, exist_ok=True)
        elif not (copy.is_file() and filecmp.cmp(path, copy, shallow=False)):
            if copy.is_dir():
                shutil.rmtree(copy)
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, copy)
    for path in sorted(target.rglob("*"), reverse=True):  # contents before their folder
        relative = path.relative_to(target)
        if relative in wanted or TOOL_CACHES.intersection(relative.parts):
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """Three workers more than cores: generated suites spend part of their time waiting
    on sockets, timers and subprocesses, and spare workers fill those gaps."""
    return (os.cpu_count() or 1) + 3


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Start the longest tests first, so a parallel run does not end on one of them alone."""
    items.sort(key=expected_cost, reverse=True)
