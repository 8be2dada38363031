"""CLI commands for authentication: ``hash-password`` and ``mint-token``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import get_args

import click

from ..settings import Settings
from .passwords import hash_password
from .settings import UserTier
from .tokens import TokenIssuer, TokenIssuingDisabledError


def register_commands(cli: click.Group, load_settings: Callable[[], Settings]) -> None:
    """Add the commands to the service's command group (called from ``cli.py``)."""

    @cli.command("hash-password")
    @click.option("--password", help="The password; asked for (twice, hidden) when omitted.")
    def hash_password_command(password: str | None) -> None:
        """Print an argon2 hash for an APP_AUTH_USERS entry.

        The prompts go to stderr, so ``HASH=$(... hash-password)`` captures the hash alone.
        """
        if password is None:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
        click.echo(hash_password(password))

    @cli.command("mint-token")
    @click.argument("subject")
    @click.option(
        "--tier",
        type=click.Choice(get_args(UserTier)),
        default="free",
        show_default=True,
        help="Rate-limit tier.",
    )
    @click.option(
        "--minutes",
        type=click.IntRange(min=1),
        default=60,
        show_default=True,
        help="Lifetime in minutes.",
    )
    def mint_token_command(subject: str, tier: UserTier, minutes: int) -> None:
        """Print an access token signed with APP_JWT_SECRET, for trying the API.

        SUBJECT is the token's subject (user name).
        """
        settings = load_settings()
        if settings.jwt_uses_secret and not settings.jwt_secret.get_secret_value():
            click.echo(
                "APP_JWT_SECRET is not set: the server would use a random secret and "
                "refuse this token. Set it in .env first.",
                err=True,
            )
            raise click.exceptions.Exit(2)
        try:
            issuer = TokenIssuer(settings)
        except TokenIssuingDisabledError as exc:
            click.echo(str(exc), err=True)
            raise click.exceptions.Exit(2) from None
        click.echo(issuer.access_token(subject, tier, timedelta(minutes=minutes)))
