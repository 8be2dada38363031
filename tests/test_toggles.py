"""Each toggle visibly changes the generated service (no dead options)."""

from __future__ import annotations

import filecmp
from pathlib import Path

import pytest
from pytest_copie.plugin import Copie

from .conftest import QUESTIONS, TOGGLES, copy_with

# Files that mention every answer and so always differ; they prove nothing.
ALWAYS_DIFFERENT = {".copier-answers.yml", "README.md"}


def tree(root: Path) -> dict[str, Path]:
    return {
        str(path.relative_to(root)): path
        for path in root.rglob("*")
        if path.is_file() and ".git" not in path.relative_to(root).parts
    }


def differences(left: Path, right: Path) -> set[str]:
    a, b = tree(left), tree(right)
    changed = {name for name in a.keys() & b.keys() if not filecmp.cmp(a[name], b[name], False)}
    return (changed | (a.keys() ^ b.keys())) - ALWAYS_DIFFERENT - {".env"}


@pytest.fixture(scope="session")
def as_default(template_repo: Path, copie_session: Copie) -> Path:
    """The defaults, rendered once per worker for every toggle to compare with."""
    return copy_with(copie_session, template_repo)


@pytest.mark.parametrize("toggle", TOGGLES)
def test_toggle_changes_the_service(
    toggle: str, template_repo: Path, as_default: Path, copie: Copie
) -> None:
    default = bool(QUESTIONS[toggle]["default"])
    flipped = copy_with(copie, template_repo, **{toggle: not default})
    changed = differences(as_default, flipped)
    assert changed, f"switching {toggle} changed nothing but the answers file"


def test_matrix_covers_every_boolean_question() -> None:
    assert set(TOGGLES) >= {"sse", "websocket", "graphql", "redis", "jwt"}
