"""A person answering the prompts gets the same project as the same answers given as data."""

from __future__ import annotations

import filecmp
import os
import sys
from pathlib import Path

import pexpect

from .conftest import render
from .test_toggles import tree

# (part of the help text, what the person types): None accepts the default,
# "y"/"n" answer a yes/no question, anything else replaces the prefilled text.
ANSWERS: list[tuple[str, str | None]] = [
    ("Human-readable name", "Chat Relay"),
    ("Distribution and command name", None),
    ("Python package name", None),
    ("One-line description", "Relays chat tokens."),
    ("Author or team name", None),
    ("Author or team e-mail", "dev@example.org"),
    ("Lowest Python version", None),
    ("Server-Sent Events", None),
    ("Bidirectional chat", "n"),
    ("Strawberry GraphQL", "y"),
    ("Redis-backed", None),
    ("JWT bearer", "n"),
]
SAME_AS_DATA = {
    "project_name": "Chat Relay",
    "description": "Relays chat tokens.",
    "author_email": "dev@example.org",
    "websocket": False,
    "graphql": True,
    "jwt": False,
}
CLEAR_LINE = "\x15"  # Ctrl-U: the prompt comes prefilled with the default


def answer_prompts(template: Path, destination: Path) -> str:
    env = {**os.environ, "PROMPT_TOOLKIT_NO_CPR": "1", "TERM": "xterm"}
    child = pexpect.spawn(
        sys.executable,
        ["-m", "copier", "copy", "--trust", "--vcs-ref", "HEAD", str(template), str(destination)],
        encoding="utf-8",
        timeout=60,
        dimensions=(40, 200),
        env=env,
    )
    for help_text, typed in ANSWERS:
        child.expect(help_text)
        if typed is None:
            child.send("\r")
        elif typed in ("y", "n"):
            child.send(typed)
        else:
            child.send(CLEAR_LINE + typed + "\r")
    child.expect(pexpect.EOF, timeout=120)
    child.close()
    assert child.exitstatus == 0, child.before
    return str(child.before)


def test_prompted_project_equals_data_project(template_repo: Path, tmp_path: Path) -> None:
    prompted = tmp_path / "prompted"
    answer_prompts(template_repo, prompted)
    from_data = render(template_repo, tmp_path / "from-data", **SAME_AS_DATA)
    left, right = tree(prompted), tree(from_data)
    assert left.keys() == right.keys()
    different = [
        name
        for name in left
        if name != ".env" and not filecmp.cmp(left[name], right[name], shallow=False)
    ]
    assert different == []
    assert "chat_relay" in (prompted / ".copier-answers.yml").read_text()
