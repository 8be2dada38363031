"""Apply ``ruff format`` and ``ruff check --fix`` to the template's Python sources.

The template cannot be formatted directly (it contains Jinja), so this renders
it with every toggle on, formats the rendered project, and copies each changed
file back to its source: plain files as they are, ``.jinja`` files without
Jinja statements with the answers substituted back. Files with ``{% %}``
blocks are only reported, with their diff, to be fixed by hand.

    uv run python scripts/format_template.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template"
ANSWERS = {"project_slug": "fmt-probe", "package_name": "fmt_probe"}
TOGGLES = ("sse", "websocket", "graphql", "redis", "jwt")


def render(destination: Path) -> None:
    data = [f"--data={key}={value}" for key, value in ANSWERS.items()]
    data += [f"--data={toggle}=true" for toggle in TOGGLES]
    subprocess.run(
        [ROOT / "scripts" / "render.sh", destination, *data], check=True, capture_output=True
    )


def source_of(rendered: Path, project: Path) -> Path | None:
    relative = str(rendered.relative_to(project)).replace(
        ANSWERS["package_name"], "{{package_name}}"
    )
    for candidate in (TEMPLATE / relative, TEMPLATE / f"{relative}.jinja"):
        if candidate.exists():
            return candidate
    return None


def _only_substitutes_names(text: str) -> bool:
    """True when the only Jinja in ``text`` is the package name and the slug."""
    rest = text.replace("{{ package_name }}", "").replace("{{ project_slug }}", "")
    return "{{" not in rest and "{%" not in rest


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "project"
        render(project)
        before = {path: path.read_text() for path in project.rglob("*.py")}
        subprocess.run(["uvx", "ruff", "check", "--fix", "-q", "."], cwd=project, check=False)
        subprocess.run(["uvx", "ruff", "format", "-q", "."], cwd=project, check=True)
        for path, old in before.items():
            new = path.read_text()
            if new == old:
                continue
            source = source_of(path, project)
            if source is None:
                print(f"no source found for {path.relative_to(project)}")
            elif source.suffix != ".jinja":
                source.write_text(new)
                print(f"formatted {source.relative_to(ROOT)}")
            elif _only_substitutes_names(source.read_text()):
                text = new.replace(ANSWERS["package_name"], "{{ package_name }}")
                source.write_text(text.replace(ANSWERS["project_slug"], "{{ project_slug }}"))
                print(f"formatted {source.relative_to(ROOT)}")
            else:
                print(f"fix by hand: {source.relative_to(ROOT)}")
                subprocess.run(["diff", "-u", "-", str(path)], input=old, text=True, check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
