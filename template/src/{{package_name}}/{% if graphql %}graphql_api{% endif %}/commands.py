"""``graphql`` commands of the service CLI: print the schema for clients and reviews."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from ..settings import Settings


def register_commands(cli: click.Group, load_settings: Callable[[], Settings]) -> None:
    """Add ``graphql schema`` to the service's command group (called from ``cli.py``)."""

    @cli.group("graphql", no_args_is_help=True)
    def graphql_cli() -> None:
        """The GraphQL API."""

    @graphql_cli.command("schema")
    @click.option(
        "--output", "-o", type=click.Path(path_type=Path), help="File to write; default stdout."
    )
    def print_schema(output: Path | None) -> None:
        """Print or write the schema in SDL (for client generation and API review)."""
        from .schema import build_schema

        sdl = build_schema(load_settings()).as_str() + "\n"
        if output is None:
            click.echo(sdl, nl=False)
        else:
            output.write_text(sdl)
            click.echo(f"Wrote {output}")
