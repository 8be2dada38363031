"""Questions: bad answers are refused with a clear message and nothing is written.

These tests render with Copier's own ``run_copy`` (``conftest.render``) rather
than pytest-copie, which the matrix and toggle tests use: they check that the
destination they chose stays empty after a refusal, and pytest-copie chooses
the destination itself.
"""

from __future__ import annotations

import importlib.util
import json
import keyword
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import QUESTIONS, ROOT, TOGGLES, clean_environment, render


def load_hook(name: str) -> Any:
    """A script of ``hooks/`` (beside the template, not a package) as a module."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "hooks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The questions a person answers: every public question of copier.yml that is
# asked (hidden lists such as the reserved names have ``when: false``).
ASKED = {name: spec for name, spec in QUESTIONS.items() if spec.get("when") is not False}


def test_every_question_says_what_it_is_for_and_has_a_default() -> None:
    assert {"project_name", "project_slug", "package_name", *TOGGLES} <= set(ASKED)
    for name, spec in ASKED.items():
        assert spec.get("help"), f"{name} has no help text"
        assert "default" in spec, f"{name} has no default: --defaults could not answer it"
        if "choices" in spec:
            assert spec["default"] in spec["choices"], f"{name}'s default is not a choice"


def test_a_defaults_render_records_every_default_of_copier_yml(
    template_repo: Path, tmp_path: Path
) -> None:
    project = render(template_repo, tmp_path / "svc")
    recorded = yaml.safe_load((project / ".copier-answers.yml").read_text())
    for name, spec in ASKED.items():
        default = spec["default"]
        if isinstance(default, str) and "{{" in default:
            continue  # derived from other answers; test_slug_and_package_derive_from_the_name
        assert recorded[name] == default, name


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"project_name": "   "}, "Project name must not be empty"),
        ({"project_slug": "My-Service"}, "Slug must be lowercase words joined by hyphens"),
        ({"project_slug": "my service"}, "Slug must be lowercase words joined by hyphens"),
        ({"project_slug": "my--service"}, "Slug must be lowercase words joined by hyphens"),
        ({"package_name": "My_Service"}, "must be a lowercase Python identifier"),
        ({"package_name": "9lives"}, "must be a lowercase Python identifier"),
        ({"package_name": "class"}, "Package name is a Python keyword"),
        ({"package_name": "match"}, "Package name is a Python keyword"),
        ({"package_name": "json"}, "would shadow the standard library"),
        ({"package_name": "asyncio"}, "would shadow the standard library"),
        ({"package_name": "fastapi"}, "would shadow a library the service uses"),
        ({"package_name": "graphql"}, "would shadow a library the service uses"),
        ({"package_name": "uvloop"}, "would shadow a library the service uses"),
        ({"package_name": "tests"}, "would shadow a library the service uses"),
        ({"author_email": "not-an-email"}, "E-mail is malformed"),
        ({"author_email": "a@b"}, "E-mail is malformed"),
        ({"python_version": "3.9"}, "3.9"),
    ],
)
def test_bad_answer_is_refused_and_nothing_written(
    template_repo: Path, tmp_path: Path, answers: dict[str, str], message: str
) -> None:
    destination = tmp_path / "service"
    with pytest.raises(ValueError) as refused:
        render(template_repo, destination, **answers)
    # Copier's prompt cuts the validator's text at the terminal's width: the
    # point must come first (the API prefixes the question's name).
    text = str(refused.value).split(": ", 1)[1]
    assert message in text[:60], text
    assert not destination.exists()


def test_cli_refusal_names_the_problem_and_writes_nothing(
    template_repo: Path, tmp_path: Path
) -> None:
    destination = tmp_path / "service"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "copier",
            "copy",
            "--trust",
            "--defaults",
            "--vcs-ref",
            "HEAD",
            "--data",
            "project_slug=Bad Slug",
            str(template_repo),
            str(destination),
        ],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    assert result.returncode != 0
    assert "Slug must be lowercase words joined by hyphens, like my-service" in result.stderr
    assert "'Bad Slug'" in result.stderr
    assert not destination.exists()


def test_a_relative_template_path_is_warned_about_at_copy(
    template_repo: Path, tmp_path: Path
) -> None:
    result = subprocess.run(
        [
            *(sys.executable, "-m", "copier", "copy", "--trust", "--defaults"),
            *("--vcs-ref", "HEAD", "repo", str(tmp_path / "service")),
        ],
        cwd=template_repo.parent,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "relative path 'repo'" in result.stderr
    assert "copier update" in result.stderr


def test_slug_and_package_derive_from_the_name(template_repo: Path, tmp_path: Path) -> None:
    project = render(template_repo, tmp_path / "svc", project_name="  Token Relay 2 ")
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["project_slug"] == "token-relay-2"
    assert answers["package_name"] == "token_relay_2"
    assert (project / "src" / "token_relay_2" / "main.py").is_file()


def test_defaults_render_with_a_git_history_and_local_secrets(
    template_repo: Path, tmp_path: Path
) -> None:
    project = render(template_repo, tmp_path / "svc")
    env_file = project / ".env"
    assert env_file.stat().st_mode & 0o777 == 0o600
    env = dict(line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line)
    assert len(env["APP_JWT_SECRET"]) >= 32
    log = subprocess.run(
        ["git", "log", "--oneline"], cwd=project, capture_output=True, text=True, check=True
    )
    assert len(log.stdout.splitlines()) == 1
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=project, capture_output=True, text=True, check=True
    )
    assert status.stdout == "", "the first commit must leave a clean tree for copier update"
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=project, capture_output=True, text=True, check=True
    ).stdout.split()
    assert ".env" not in tracked
    answers_text = (project / ".copier-answers.yml").read_text()
    assert env["APP_JWT_SECRET"] not in answers_text
    assert "secret" not in answers_text.lower()


def reserved_names() -> dict[str, set[str]]:
    """Each hidden list of ``hooks/reserved_names.yml``, as Copier reads it (a JSON string)."""
    document = yaml.safe_load((ROOT / "hooks" / "reserved_names.yml").read_text())
    assert {spec["type"] for spec in document.values()} == {"json"}
    return {name: set(json.loads(spec["default"])) for name, spec in document.items()}


def test_reserved_names_cover_this_python() -> None:
    reserved = reserved_names()
    stdlib, keywords = reserved["stdlib_modules"], reserved["python_keywords"]
    assert {n for n in sys.stdlib_module_names if not n.startswith("_")} <= stdlib, (
        "run hooks/make_reserved_names.py under this Python"
    )
    assert set(keyword.kwlist) <= keywords


@pytest.mark.slow
def test_reserved_names_cover_every_module_the_dependencies_install(
    template_repo: Path, tmp_path: Path
) -> None:
    """A package named like any module a rendered project installs would shadow it."""
    toggles = {name: True for name, spec in QUESTIONS.items() if spec.get("type") == "bool"}
    project = render(template_repo, tmp_path / "service", **toggles)
    env = clean_environment()
    env.pop("UV_PROJECT_ENVIRONMENT", None)
    subprocess.run(["uv", "sync", "--quiet"], cwd=project, env=env, check=True, timeout=600)
    python = str(project / ".venv" / "bin" / "python")
    installed = load_hook("make_reserved_names").installed_modules(python)
    reserved = reserved_names()
    missing = installed - reserved["dependency_modules"] - reserved["stdlib_modules"]
    assert not missing, (
        f"not reserved: {sorted(missing)}; run "
        "python hooks/make_reserved_names.py <a project with every toggle>/.venv/bin/python"
    )
    assert "tests" in reserved["dependency_modules"]
