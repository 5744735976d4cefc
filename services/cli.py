"""`buildify`: the platform's command line. Importing this module does nothing but declare commands."""

import asyncio

import typer

from services.runtime.cli import deploy, dev, module

app = typer.Typer(help="Buildify platform commands.", no_args_is_help=True)
admin = typer.Typer(help="Administration of core.", no_args_is_help=True)
app.add_typer(admin, name="admin")
app.add_typer(deploy, name="deploy")
app.add_typer(module, name="module")
app.command("dev", help="Run the whole platform locally: PostgreSQL, core, modules, Traefik.")(dev)


async def _create_superuser(url: str, email: str, password: str) -> str:
    from services.core.app.admin import create_superuser

    return str(await create_superuser(url, email, password))


@admin.command("create-superuser")
def create_superuser_command(
    email: str = typer.Option(..., "--email", help="the administrator's email"),
    password: str = typer.Option(..., "--password", help="at least 8 characters", prompt=True, hide_input=True),
    database_url: str = typer.Option(
        "postgresql://postgres@127.0.0.1:5432/buildify", "--database-url", envvar="DATABASE_URL",
        show_default=False, show_envvar=True,  # --help never prints the URL (it may carry a password)
        help="core's database [default: $DATABASE_URL, else postgresql://postgres@127.0.0.1:5432/buildify]",
    ),
) -> None:
    """Create the first platform administrator (migrates core's tables if needed)."""
    try:
        user_id = asyncio.run(_create_superuser(database_url, email, password))
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"platform administrator {email.strip().lower()} created ({user_id})")
