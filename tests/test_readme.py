"""The generated README's commands, and its pages', work when pasted in order.

Every line of the ``sh`` blocks of the README and then of each page it links
in ``docs/`` (in the order of the links) runs in one bash session (so ``KEY``
and ``TOKEN`` carry over), in the project's folder, against the service
started as the README's first command starts it; ``curl`` fails on an HTTP
error, as a person would notice one. Only the port is changed. Lines that
cannot run here are left out by kind, never one by one: commands that start
a server (the test starts it), examples with ``...`` placeholders, the
toolchain and tests (the matrix runs them), and commands that change the
project, its git history or the machine (``uv sync``, ``git``, ``uvx``,
``docker``, ``kubectl``).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from .test_clients import free_port, running

Services = Callable[[str], tuple[Path, dict[str, str]]]
NOT_RUN_HERE = re.compile(
    r"(\bserve\b|\.\.\.|^uv sync|^uv run (pytest|ruff|mypy)|^uvx |^git |^docker |^kubectl )"
)


def readme_commands(readme: str) -> list[str]:
    """Each command of the README's sh blocks, continuation lines joined."""
    commands: list[str] = []
    for block in re.findall(r"```sh\n(.*?)```", readme, re.DOTALL):
        for line in block.replace("\\\n", " ").splitlines():
            command = line.strip()
            if command and not command.startswith("#"):
                commands.append(command)
    return commands


def documented_commands(project: Path) -> list[str]:
    """The README's commands, then those of each docs page it links, in link order."""
    readme = (project / "README.md").read_text()
    pages = dict.fromkeys(re.findall(r"\]\((docs/[\w-]+\.md)\)", readme))
    written = {str(path.relative_to(project)) for path in (project / "docs").glob("*.md")}
    assert set(pages) == written, f"docs pages not linked: {written - set(pages)}"
    commands = readme_commands(readme)
    for page in pages:
        commands += readme_commands((project / page).read_text())
    return commands


@pytest.mark.slow
@pytest.mark.xdist_group("rendered-services")
@pytest.mark.parametrize("name", ["defaults", "every-toggle"])
def test_readme_commands_work_in_order(rendered_services: Services, name: str) -> None:
    project, env = rendered_services(name)
    commands = documented_commands(project)
    runnable = [command for command in commands if not NOT_RUN_HERE.search(command)]
    assert sum(command.startswith("curl") for command in runnable) >= 4, runnable
    port = free_port()
    script = "\n".join(
        [
            "set -euo pipefail",
            'curl() { command curl --silent --show-error --fail-with-body "$@"; echo; }',
            *(command.replace("localhost:8000", f"localhost:{port}") for command in runnable),
        ]
    )
    # The README's first command, as written but for the port: settings from .env.
    serve = ["uv", "run", "--no-sync", "my-service", "serve", "--port", str(port)]
    with running(serve, project, env, port):
        result = subprocess.run(
            ["bash", "-c", script],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    assert '"status":"ok"' in result.stdout.replace(" ", "")
    if (project / "src" / "my_service" / "sse").is_dir():
        assert "event: done" in result.stdout
