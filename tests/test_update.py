"""`copier update` moves a generated service between tagged releases without losing its work.

Each test works in its own throwaway git copy of the template, where it commits
and tags releases freely (``v0.1.0``, then a changed template as ``v0.2.0``),
and in a generated project that an owner has edited the way owners do. The
steps mirror docs/updating.md: a committed, clean project,
``copier update``, resolve any conflict markers, run the checks, commit.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import copier
import pytest
import yaml

from .conftest import (
    QUESTIONS,
    ROOT,
    TOGGLES,
    combination_type_cache,
    git,
    snapshot_template,
    worker_environment,
)
from .test_matrix import run_step

IDENTITY = {
    "GIT_AUTHOR_NAME": "template-tests",
    "GIT_AUTHOR_EMAIL": "tests@localhost",
    "GIT_COMMITTER_NAME": "template-tests",
    "GIT_COMMITTER_EMAIL": "tests@localhost",
}
# What `copier update --conflict inline` (the default) writes around a conflict.
CONFLICT_START = "<<<<<<< before updating"
CONFLICT_END = ">>>>>>> after updating"
MARKER = re.compile(r"^(<{7} |={7}$|>{7} |\|{7} )", re.MULTILINE)
PACKAGE = "my_service"
RELEASE_NOTE = "Template release 0.2.0 notes live in its CHANGELOG."


@pytest.fixture(autouse=True)
def _git_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    """Copier commits inside its scratch repositories; CI machines have no git identity."""
    for name, value in IDENTITY.items():
        monkeypatch.setenv(name, value)


# --- the template side: a throwaway repository with releases ---------------------------


def edit(path: Path, old: str, new: str) -> None:
    """Replace one exact passage; fail loudly when the anchor has moved."""
    text = path.read_text()
    assert text.count(old) == 1, f"anchor {old!r} must occur once in {path}; update this test"
    path.write_text(text.replace(old, new))


def sub(path: Path, pattern: str, replacement: str) -> None:
    """Regex replace of exactly one match; fail loudly when the anchor has moved."""
    text, count = re.subn(pattern, replacement, path.read_text(), flags=re.MULTILINE)
    assert count == 1, f"pattern {pattern!r} must match once in {path}; update this test"
    path.write_text(text)


def template_release(tmp_path: Path) -> Path:
    """The working tree as a throwaway template repository, released as v0.1.0."""
    template = snapshot_template(tmp_path / "template")
    git(template, "tag", "v0.1.0")
    return template


def release(template: Path, tag: str, change: Callable[[Path], None]) -> None:
    """Change the template, commit and tag it: what the release procedure does."""
    change(template / "template")
    git(template, "add", "--all")
    git(template, "commit", "--quiet", "-m", f"release {tag}")
    git(template, "tag", tag)


def core(template_tree: Path, module: str) -> Path:
    return template_tree / "src" / "{{package_name}}" / module


def add_setting_and_release_line(tree: Path) -> None:
    """A typical release: a new (documented) setting, a line in a core module, a README note."""
    edit(
        core(tree, "core_settings.py.jinja"),
        '    env: Environment = "development"\n',
        '    env: Environment = "development"\n    release_channel: str = "stable"\n',
    )
    edit(
        tree / ".env.example.jinja",
        "APP_ENV=development\n",
        "APP_ENV=development\n"
        "# Which release track this deployment follows.\n"
        "APP_RELEASE_CHANNEL=stable\n",
    )
    edit(
        core(tree, "main.py"),
        "# The service's own routers",
        'TEMPLATE_RELEASE = "0.2.0"\n\n# The service\'s own routers',
    )
    readme = tree / "README.md.jinja"
    readme.write_text(f"{readme.read_text()}\n{RELEASE_NOTE}\n")


# --- the project side: a generated service and its owner ---------------------------------


def render_release(template: Path, project: Path, tag: str, **answers: Any) -> Path:
    """Generate a project from a tagged release, as a user does (absolute template path)."""
    copier.run_copy(
        str(template.resolve()),
        str(project),
        data=answers,
        defaults=True,
        unsafe=True,
        vcs_ref=tag,
        quiet=True,
    )
    return project


def update(project: Path, tag: str, **answers: Any) -> None:
    """`copier update --trust --defaults [--data k=v]` to a given release."""
    copier.run_update(
        str(project),
        data=answers,
        defaults=True,
        overwrite=True,
        unsafe=True,
        vcs_ref=tag,
        quiet=True,
    )


def commit_all(project: Path, message: str) -> None:
    git(project, "add", "--all")
    git(project, "commit", "--quiet", "--no-verify", "-m", message)


def commit_count(project: Path) -> int:
    return int(git(project, "rev-list", "--count", "HEAD"))


def status(project: Path) -> str:
    return git(project, "status", "--porcelain")


def project_files(project: Path) -> set[str]:
    """Tracked and untracked files, without what .gitignore hides (.env, .venv, caches)."""
    listed = git(project, "ls-files", "--cached", "--others", "--exclude-standard")
    return {name for name in listed.splitlines() if (project / name).is_file()}


def assert_no_conflict_leftovers(project: Path) -> None:
    leftovers = {
        name: [line for line in (project / name).read_text().splitlines() if MARKER.match(line)]
        for name in project_files(project)
        if MARKER.search((project / name).read_text(errors="replace"))
    }
    assert not leftovers, f"conflict markers left: {leftovers}"
    rejects = [name for name in project_files(project) if name.endswith(".rej")]
    assert not rejects, f"rejected hunks left: {rejects}"


def env_secrets(project: Path) -> list[str]:
    """Every long random-looking token in .env (the JWT secret, the API keys)."""
    values = [
        line.split("=", 1)[1]
        for line in (project / ".env").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    ]
    tokens = [token for value in values for token in re.findall(r"[A-Za-z0-9_\-]{16,}", value)]
    assert tokens, ".env holds no secret to look for"
    return tokens


def assert_answers_hold_no_secret(project: Path, secrets: list[str]) -> None:
    answers = (project / ".copier-answers.yml").read_text()
    leaked = [secret for secret in secrets if secret in answers]
    assert not leaked, "a secret from .env reached .copier-answers.yml"


class Toolchain:
    """The generated project's own checks, run with uv as its README says."""

    def __init__(self, project: Path, env: dict[str, str], type_cache_name: str) -> None:
        self.project = project
        self.env = {**env, **IDENTITY}
        self.type_cache_name = type_cache_name

    def run(self, name: str, *command: str) -> None:
        run_step(name, list(command), self.project, self.env)

    def sync(self) -> None:
        self.run("uv sync", "uv", "sync", "--quiet")

    def tool(self, name: str, *args: str) -> None:
        self.run(name, "uv", "run", "--no-sync", *args)

    def check(self, *selection: str) -> None:
        """Lint, format, strict types and the project's tests (after a sync).

        ``selection``: pytest options that leave out fuzzing the routes the
        matrix fuzzes already (the defaults'), as the matrix does for the
        combinations whose routes another fuzzed service has.
        """
        self.sync()
        self.tool("ruff check", "ruff", "check", ".")
        self.tool("ruff format --check", "ruff", "format", "--check", ".")
        with combination_type_cache(self.env, self.type_cache_name, self.project):
            self.tool("mypy --strict", "mypy")
        pytest_args = os.environ.get("GENERATED_PYTEST_ARGS", "-q -p no:cacheprovider").split()
        pytest_args += selection
        self.tool("pytest", "pytest", *pytest_args)


@pytest.fixture
def toolchain(
    tmp_path_factory: pytest.TempPathFactory, worker_id: str, request: pytest.FixtureRequest
) -> Callable[[Path], Toolchain]:
    """The worker's environment (shared with the matrix) and a mypy cache of the test's own,
    kept from run to run like a combination's (the worker's holds other projects)."""
    env = worker_environment(tmp_path_factory, worker_id)
    return lambda project: Toolchain(project, env, f"update-{request.node.name}")


WIDGETS_ROUTE = '''\
"""Widgets: the owner's own endpoint, added after the project was generated."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

router = APIRouter(tags=["widgets"])


class WidgetList(BaseModel):
    """The widgets this service knows."""

    items: list[str] = Field(description="Widget names.", examples=[["sprocket"]])


@router.get("/widgets")
async def list_widgets() -> WidgetList:
    """Every widget, in a stable order."""
    return WidgetList(items=["cog", "sprocket"])
'''

WIDGETS_TEST = f'''\
"""The owner's widgets endpoint is mounted under /api/v1."""

from __future__ import annotations

from fastapi.testclient import TestClient

from {PACKAGE}.api.v1.widgets import list_widgets


def test_widgets_route_is_registered(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "get" in paths["/api/v1/widgets"]


async def test_widgets_lists_every_widget() -> None:
    assert (await list_widgets()).items == ["cog", "sprocket"]
'''

OWNER_README = "Owned by the payments team: page #payments-oncall before a deploy.\n"
OWNER_DEPENDENCY = "tenacity>=9.0"


def make_owner_edits(project: Path, tools: Toolchain) -> None:
    """What an owner does in the first weeks: a route, a setting, docs, a dependency."""
    package = project / "src" / PACKAGE
    (package / "api" / "v1" / "widgets.py").write_text(WIDGETS_ROUTE)
    (project / "tests" / "test_widgets.py").write_text(WIDGETS_TEST)
    main = package / "main.py"
    edit(
        main,
        "CORE_MOUNTS: list[Mount] = [\n",
        "CORE_MOUNTS: list[Mount] = [\n    Mount(API_PREFIX, widgets.router),\n",
    )
    # Added at the top of the import block; ruff's isort puts it where it belongs.
    edit(
        main,
        "from __future__ import annotations\n",
        "from __future__ import annotations\n\nfrom .api.v1 import widgets\n",
    )
    sub(package / "core_settings.py", r'^(    llm_model: str = )"[^"]*"$', r'\1"gpt-4.1-mini"')
    readme = project / "README.md"
    first, rest = readme.read_text().split("\n", 1)
    readme.write_text(f"{first}\n\n{OWNER_README}{rest}")
    edit(
        project / "pyproject.toml",
        "dependencies = [\n",
        f'dependencies = [\n    "{OWNER_DEPENDENCY}",\n',
    )
    tools.sync()
    tools.tool("ruff check --fix", "ruff", "check", "--fix", "--quiet", ".")
    tools.tool("ruff format", "ruff", "format", "--quiet", ".")
    commit_all(project, "Add widgets, pick our model, document the owner, add tenacity")


def change_the_owners_line(tree: Path) -> None:
    """A release that changes the line the owner changed, and another line of the same file."""
    settings = core(tree, "core_settings.py.jinja")
    sub(settings, r'^(    llm_model: str = )"[^"]*"$', r'\1"gpt-4.1"')
    edit(
        settings,
        "# What a browser sends in ``Origin``:",
        "# What a browser sends in an ``Origin`` header:",
    )


def keep_side(path: Path, side: str) -> None:
    """Resolve every conflict in a file by hand: keep one side, delete the markers."""
    kept: list[str] = []
    region = None  # None outside a conflict, else "ours", "base" or "theirs"
    for line in path.read_text().splitlines(keepends=True):
        if line.startswith("<<<<<<< "):
            region = "ours"
        elif line.startswith("||||||| ") and region == "ours":
            region = "base"
        elif line.rstrip("\n") == "=======" and region in {"ours", "base"}:
            region = "theirs"
        elif line.startswith(">>>>>>> ") and region == "theirs":
            region = None
        elif region is None or region == side:
            kept.append(line)
    assert region is None, f"unterminated conflict in {path}"
    path.write_text("".join(kept))


@pytest.mark.slow
def test_updates_keep_owner_edits_and_leave_conflicts_that_resolve_as_documented(
    tmp_path: Path, toolchain: Callable[[Path], Toolchain]
) -> None:
    """An owner's project through two releases, as docs/updating.md describes them.

    The first release touches nothing the owner changed and merges cleanly;
    the second changes a line the owner changed too, and leaves conflict
    markers. The project's checks run once, after the conflict is resolved to
    the owner's side: that tree is the one the clean update left, plus the
    second release's other change.
    """
    template = template_release(tmp_path)
    project = render_release(template, tmp_path / "service", "v0.1.0")
    tools = toolchain(project)
    make_owner_edits(project, tools)
    env_before = (project / ".env").read_bytes()
    commits_before = commit_count(project)
    release(template, "v0.2.0", add_setting_and_release_line)

    update(project, "v0.2.0")

    package = project / "src" / PACKAGE
    settings_path = package / "core_settings.py"
    settings, main = settings_path.read_text(), (package / "main.py").read_text()
    readme = (project / "README.md").read_text()
    pyproject = (project / "pyproject.toml").read_text()
    # The owner's work survived...
    assert (package / "api" / "v1" / "widgets.py").read_text() == WIDGETS_ROUTE
    assert (project / "tests" / "test_widgets.py").is_file()
    assert "    Mount(API_PREFIX, widgets.router),\n" in main
    assert re.search(r"^from \.api\.v1 import .*\bwidgets\b", main, re.MULTILINE)
    assert '    llm_model: str = "gpt-4.1-mini"\n' in settings
    assert OWNER_README in readme
    assert f'"{OWNER_DEPENDENCY}",' in pyproject
    # ...the release arrived...
    assert '    release_channel: str = "stable"\n' in settings
    assert 'TEMPLATE_RELEASE = "0.2.0"\n' in main
    assert RELEASE_NOTE in readme
    assert yaml.safe_load((project / ".copier-answers.yml").read_text())["_commit"] == "v0.2.0"
    # ...without conflicts, and the copy-only task stayed out of it.
    assert_no_conflict_leftovers(project)
    assert (project / ".env").read_bytes() == env_before
    assert commit_count(project) == commits_before, "update must leave committing to the owner"
    commit_all(project, "Update from the template to v0.2.0")

    release(template, "v0.3.0", change_the_owners_line)

    update(project, "v0.3.0")

    text = settings_path.read_text()
    assert f"{CONFLICT_START}\n" in text and f"{CONFLICT_END}\n" in text
    ours, theirs = text.index('"gpt-4.1-mini"'), text.index('"gpt-4.1"')
    assert text.index(CONFLICT_START) < ours < text.index("\n=======\n") < theirs
    # git sees an unmerged file ("both modified"), so nothing is committed by accident.
    unmerged = git(project, "diff", "--name-only", "--diff-filter=U").split()
    assert unmerged == [f"src/{PACKAGE}/core_settings.py"]
    # The other, non-conflicting change to the same file merged cleanly.
    assert "# What a browser sends in an ``Origin`` header:" in text

    # The documented resolution: keep your lines, delete the markers, add, check, commit.
    keep_side(settings_path, "ours")
    git(project, "add", f"src/{PACKAGE}/core_settings.py")
    assert_no_conflict_leftovers(project)
    resolved = settings_path.read_text()
    assert '    llm_model: str = "gpt-4.1-mini"\n' in resolved
    assert '    release_channel: str = "stable"\n' in resolved
    assert "# What a browser sends in an ``Origin`` header:" in resolved
    # Every test, but the fuzzing of the defaults' own routes: the owner's route is fuzzed.
    tools.check("-k", "not test_api_conforms_to_its_schema or widgets")
    commit_all(project, "Update from the template to v0.3.0")
    assert status(project) == ""


def tree_snapshot(project: Path) -> dict[str, bytes]:
    """Every file by content, but uv's lock file and the answers file (which records answers)."""
    return {
        name: (project / name).read_bytes()
        for name in project_files(project)
        if name not in {"uv.lock", ".copier-answers.yml"}
    }


def owns_files(toggle: str) -> bool:
    """Whether some path in the template exists only with (or without) this toggle."""
    pattern = re.compile(r"\{%-?\s*if\b[^%]*\b" + re.escape(toggle) + r"\b")
    return any(pattern.search(str(path)) for path in (ROOT / "template").rglob("*"))


@pytest.mark.slow
@pytest.mark.longest  # started first: it is one long sequence that cannot be split
@pytest.mark.xdist_group("update-toggles")  # its own work unit, beside every other test
def test_switching_each_toggle_during_update(
    tmp_path: Path, toolchain: Callable[[Path], Toolchain]
) -> None:
    """One project, every toggle flipped and flipped back in turn, checked after each flip."""
    template = template_release(tmp_path)
    project = render_release(template, tmp_path / "service", "v0.1.0")
    tools = toolchain(project)
    tools.sync()
    commit_all(project, "Lock the dependencies")
    original = tree_snapshot(project)
    answers = {name: bool(QUESTIONS[name]["default"]) for name in TOGGLES}

    for toggle in TOGGLES:
        flipped = {**answers, toggle: not answers[toggle]}
        update(project, "v0.1.0", **{toggle: flipped[toggle]})
        recorded = yaml.safe_load((project / ".copier-answers.yml").read_text())
        assert recorded[toggle] is flipped[toggle]

        # Exactly the capability's files came or went: the tree is what a fresh
        # copy with these answers would be, no stale file and no missing one.
        expected = render_release(template, tmp_path / f"expected-{toggle}", "v0.1.0", **flipped)
        now, fresh = tree_snapshot(project), tree_snapshot(expected)
        assert now.keys() == fresh.keys(), (
            f"{toggle}: extra {sorted(now.keys() - fresh.keys())}, "
            f"missing {sorted(fresh.keys() - now.keys())}"
        )
        differing = sorted(name for name in now if now[name] != fresh[name])
        assert not differing, f"{toggle}: files differ from a fresh copy: {differing}"
        assert now != original, f"switching {toggle} during update changed nothing"
        if owns_files(toggle):
            assert now.keys() != original.keys(), f"{toggle} owns files but none came or went"
        assert_no_conflict_leftovers(project)

        # Its lint, types and tests are not run again here: the tree was just
        # shown to equal a fresh copy of this combination byte for byte, and
        # tests/test_matrix.py runs every combination's whole toolchain.
        commit_all(project, f"Switch {toggle} {'on' if flipped[toggle] else 'off'}")

        update(project, "v0.1.0", **{toggle: answers[toggle]})
        back = tree_snapshot(project)
        assert back.keys() == original.keys(), f"{toggle}: switching back left a different tree"
        assert back == original, f"{toggle}: switching back did not restore every file"
        commit_all(project, f"Switch {toggle} back")


def test_update_with_defaults_asks_nothing_and_stores_no_secret(tmp_path: Path) -> None:
    template = template_release(tmp_path)
    project = render_release(template, tmp_path / "service", "v0.1.0")
    secrets = env_secrets(project)
    assert_answers_hold_no_secret(project, secrets)
    head = git(project, "rev-parse", "HEAD")
    # .env is git-ignored, so the project stays clean without it; if the
    # copy-only task ran on update it would write a new one.
    (project / ".env").unlink()
    assert status(project) == ""

    result = subprocess.run(
        [sys.executable, "-m", "copier", "update", "--defaults", "--trust"],
        cwd=project,
        env={**os.environ, **IDENTITY},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert result.returncode == 0, result.stderr
    assert status(project) == "", "an update to the same release must change nothing"
    assert git(project, "rev-parse", "HEAD") == head
    assert not (project / ".env").exists(), "the copy-only task ran during update"
    assert_answers_hold_no_secret(project, secrets)
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["_commit"] == "v0.1.0"
    assert Path(answers["_src_path"]).is_absolute()


def test_template_tasks_are_guarded_to_run_on_copy_only() -> None:
    """An unguarded task would run three times on every update (old, new and real copy)."""
    config = next(yaml.safe_load_all((ROOT / "copier.yml").read_text().replace("!include", "#")))
    assert config["_tasks"], "the copy task is gone: update this test and the README"
    for task in config["_tasks"]:
        assert task.get("when") == "{{ _copier_operation == 'copy' }}", task
    assert "_migrations" not in config, "a migration needs its own update test"


def test_readme_update_section_matches_the_tests() -> None:
    section = (ROOT / "docs" / "updating.md").read_text()
    generated_section = (ROOT / "template" / "docs" / "updating.md.jinja").read_text()
    for needle in ("copier update --trust --defaults", CONFLICT_START, CONFLICT_END, "--data"):
        assert needle in section, f"docs/updating.md must mention {needle!r}"
        assert needle in generated_section, f"generated docs/updating.md must mention {needle!r}"
