"""Ask git once per Copier operation, not once per file, whether it ignores file modes.

After writing each file, Copier runs ``git config --get core.fileMode`` in the
destination (a new git process per file, whether or not the destination is a
repository) and only acts when the answer is ``false``, where it copies the
file's executable bit into git's index. A render of this template writes a
couple of hundred files, so most of a render's child processes are that one
question, asked again with the same answer: nothing in a render or an update
changes the destination's git configuration. This asks it once per Copier
``Worker`` (one copy or update, or one of the copies an update makes) and
destination, and leaves every file to Copier's own method when the answer is
``false``. docs/performance.md gives what it saves. The suite's own processes
only, like ``jinja_compile_cache``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from copier._main import Worker
from copier._vcs import get_git
from plumbum import ProcessExecutionError

_sync_executable_bit = Worker._sync_git_index_executable_bit
_ANSWERS = "_file_mode_setting_by_destination"


def _file_mode_setting(destination: str) -> str | None:
    """What Copier's method reads first: ``core.fileMode`` as git's bool, None if unset."""
    try:
        setting: str = get_git(context_dir=destination)(
            "config", "--type=bool", "--get", "core.fileMode"
        )
    except ProcessExecutionError:
        return None
    return setting.strip()


def _sync_when_modes_are_ignored(self: Worker, dst_relpath: Path, src_mode: int) -> None:
    answers: dict[str, str | None] = vars(self).setdefault(_ANSWERS, {})
    destination = str(self.subproject.local_abspath)
    if destination not in answers:
        answers[destination] = _file_mode_setting(destination)
    # Copier's method returns at once for any other answer: git sees the mode itself.
    if answers[destination] == "false":
        _sync_executable_bit(self, dst_relpath, src_mode)


def install() -> None:
    method: Any = _sync_when_modes_are_ignored
    Worker._sync_git_index_executable_bit = method
