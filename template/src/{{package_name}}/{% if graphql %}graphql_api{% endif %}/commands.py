"""``graphql`` commands of the service CLI: print the schema for clients and reviews."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from ..settings import Settings


def register_commands(cli: typer.Typer, load_settings: Callable[[], Settings]) -> None:
    """Add ``graphql schema`` to the service's Typer app (called from ``cli.py``)."""
    graphql_cli = typer.Typer(help="The GraphQL API.", no_args_is_help=True)

    @graphql_cli.command("schema")
    def print_schema(
        output: Annotated[
            Path | None, typer.Option("--output", "-o", help="File to write; default stdout.")
        ] = None,
    ) -> None:
        """Print or write the schema in SDL (for client generation and API review)."""
        from .schema import build_schema

        sdl = build_schema(load_settings()).as_str() + "\n"
        if output is None:
            typer.echo(sdl, nl=False)
        else:
            output.write_text(sdl)
            typer.echo(f"Wrote {output}")

    cli.add_typer(graphql_cli, name="graphql")
