"""The `waqtor` command line (also `python -m waqtor`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError

from waqtor import __version__

if TYPE_CHECKING:
    from waqtor.config import Settings

cli = typer.Typer(add_completion=False, no_args_is_help=True, help="Waqtor, a self-hosted WhatsApp gateway.")


def _settings(**overrides: Any) -> Settings:
    """Settings from the environment, with the options given on the command line on top.

    `overrides` holds the raw option values (None for an option not given), hence `Any`: pydantic
    validates them in `Settings(...)`, with the environment, and errors are reported as for the environment.
    """
    from waqtor.config import Settings

    given: dict[str, Any] = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"])
            typer.echo(f"error: setting {field} (WAQTOR_{field.upper()}): {err['msg']}", err=True)
        raise typer.Exit(2) from None


def setup_logging(level: str, fmt: str = "text") -> None:
    from waqtor.logs import configure

    configure(level, "json" if fmt == "json" else "text")


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address [env WAQTOR_HOST, default 0.0.0.0]")] = None,
    port: Annotated[int | None, typer.Option(help="HTTP port [env WAQTOR_PORT, default 8080]")] = None,
    engine: Annotated[
        str | None,
        typer.Option(
            help="Engine of the default session: neonize, cloud or sandbox [env WAQTOR_ENGINE, default neonize]"
        ),
    ] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Data directory [env WAQTOR_DATA_DIR, default ./data]")] = None,
    database_url: Annotated[
        str | None, typer.Option(help="Database URL [env WAQTOR_DATABASE_URL, default SQLite in the data dir]")
    ] = None,
) -> None:
    """Start the gateway."""
    import uvicorn

    from waqtor.app import create_app
    from waqtor.errors import ConfigError
    from waqtor.server import tune_gc, uvicorn_config

    settings = _settings(host=host, port=port, engine=engine, data_dir=data_dir, database_url=database_url)
    setup_logging(settings.log_level, settings.log_format)
    try:
        app = create_app(settings, console_qr=sys.stderr.isatty())
        tune_gc()
        uvicorn.Server(uvicorn_config(app, settings)).run()
    except ConfigError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from None


@cli.command("new-key")
def new_key(
    data_dir: Annotated[Path | None, typer.Option(help="Data directory [env WAQTOR_DATA_DIR]")] = None,
) -> None:
    """Replace the generated API key with a new one (shown once). Restart the gateway to use it."""
    from waqtor.access.gateway_key import KEY_FILE, announce_key, generate_key, write_key_hash

    settings = _settings(data_dir=data_dir)
    key = generate_key()
    path = settings.data_dir / KEY_FILE
    write_key_hash(path, key)
    announce_key(key, path, settings.port)


@cli.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


def main() -> None:
    cli()
