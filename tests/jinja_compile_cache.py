"""Compile each Jinja source once per test process, however many renders use it.

Copier compiles every path part and every templated string of the template
from source on each render (``Environment.from_string`` has no cache; only
templates read through a loader do), and this suite renders the template
about a hundred times: every combination, and each ``copier update`` renders
twice. Compiling is pure: the same source under the same environment settings
gives the same code object, which is immutable, so a process-wide cache keyed
by the source and every setting that shapes the generated code changes no
rendered byte. docs/performance.md gives what it saves. The suite's own
processes only: users' renders, and the prompt tests' ``copier`` processes,
compile as Copier does.
"""

from __future__ import annotations

from types import CodeType
from typing import Any

import jinja2

_compiled: dict[tuple[Any, ...], str | CodeType] = {}
_compile = jinja2.Environment.compile


def _settings(environment: jinja2.Environment) -> tuple[Any, ...]:
    """What the lexer, the parser and the code generator read from the environment."""
    return (
        type(environment),
        environment.block_start_string,
        environment.block_end_string,
        environment.variable_start_string,
        environment.variable_end_string,
        environment.comment_start_string,
        environment.comment_end_string,
        environment.line_statement_prefix,
        environment.line_comment_prefix,
        environment.trim_blocks,
        environment.lstrip_blocks,
        environment.newline_sequence,
        environment.keep_trailing_newline,
        environment.optimized,
        environment.is_async,
        environment.finalize,
        environment.autoescape,
        tuple(sorted(environment.extensions)),
        # Unknown filters and tests are compile-time errors.
        frozenset(environment.filters),
        frozenset(environment.tests),
    )


def _cached_compile(
    self: jinja2.Environment,
    source: str | Any,
    name: str | None = None,
    filename: str | None = None,
    raw: bool = False,
    defer_init: bool = False,
) -> str | CodeType:
    if not isinstance(source, str):  # an already parsed template: nothing to share
        return _compile(self, source, name, filename, raw, defer_init)
    # Not the file name: Copier reads the template from a fresh clone on each
    # render, so every render would miss. The name (the path inside the
    # template) stays; a cached code object reports the first clone's path in
    # a traceback, and nothing else reads it.
    key = (_settings(self), source, name, raw, defer_init)
    try:
        return _compiled[key]
    except KeyError:
        code: str | CodeType = _compile(self, source, name, filename, raw, defer_init)
        _compiled[key] = code
        return code


def install() -> None:
    jinja2.Environment.compile = _cached_compile
