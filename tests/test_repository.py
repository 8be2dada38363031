"""The template repository's own tooling (hooks, scripts, tests) is lint-clean too."""

from __future__ import annotations

import subprocess
import sys

from .conftest import ROOT

OWN_CODE = ["bench", "hooks", "scripts", "tests"]


def test_own_code_passes_ruff() -> None:
    for command in (["check"], ["format", "--check"]):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", *command, *OWN_CODE],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stdout + result.stderr
