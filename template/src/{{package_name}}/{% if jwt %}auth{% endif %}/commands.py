"""CLI commands for authentication: ``hash-password`` and ``mint-token``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Annotated

import typer

from ..settings import Settings
from .passwords import hash_password
from .settings import UserTier
from .tokens import TokenIssuer, TokenIssuingDisabledError


def register_commands(cli: typer.Typer, load_settings: Callable[[], Settings]) -> None:
    """Add the commands to the service's Typer app (called from ``cli.py``)."""

    @cli.command("hash-password")
    def hash_password_command(
        password: Annotated[
            str | None,
            typer.Option(help="The password; asked for (twice, hidden) when omitted."),
        ] = None,
    ) -> None:
        """Print an argon2 hash for an APP_AUTH_USERS entry.

        The prompts go to stderr, so ``HASH=$(... hash-password)`` captures the hash alone.
        """
        if password is None:
            password = typer.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
        typer.echo(hash_password(password))

    @cli.command("mint-token")
    def mint_token_command(
        subject: Annotated[str, typer.Argument(help="The token's subject (user name).")],
        tier: Annotated[UserTier, typer.Option(help="Rate-limit tier.")] = "free",
        minutes: Annotated[int, typer.Option(min=1, help="Lifetime in minutes.")] = 60,
    ) -> None:
        """Print an access token signed with APP_JWT_SECRET, for trying the API."""
        settings = load_settings()
        if settings.jwt_uses_secret and not settings.jwt_secret.get_secret_value():
            typer.echo(
                "APP_JWT_SECRET is not set: the server would use a random secret and "
                "refuse this token. Set it in .env first.",
                err=True,
            )
            raise typer.Exit(code=2)
        try:
            issuer = TokenIssuer(settings)
        except TokenIssuingDisabledError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(code=2) from None
        typer.echo(issuer.access_token(subject, tier, timedelta(minutes=minutes)))
