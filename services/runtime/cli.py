"""`buildify dev`: run the platform locally (documented ports and options)."""

from pathlib import Path

import typer

from services.runtime.dev import DevOptions, run
from services.runtime.gateway import MODULE_PORTS
from services.runtime.paths import ROOT, SERVICES


def dev(
    gateway_port: int = typer.Option(8080, envvar="GATEWAY_PORT", help="the one address: gateway port"),
    core_port: int = typer.Option(8000, envvar="CORE_PORT", help="core service port"),
    financial_port: int = typer.Option(MODULE_PORTS["financial"], envvar="FINANCIAL_PORT", help="financial's port"),
    warehouse_port: int = typer.Option(MODULE_PORTS["warehouse"], envvar="WAREHOUSE_PORT", help="warehouse's port"),
    admin_port: int = typer.Option(9080, envvar="TRAEFIK_ADMIN_PORT", help="Traefik's own entry point (ping)"),
    database_url: str = typer.Option(
        "", envvar="DATABASE_URL",
        help="PostgreSQL to use (a server URL gets a 'buildify' database); empty: embedded pgserver",
    ),
    data_dir: Path = typer.Option(ROOT / ".buildify", help="embedded database, generated secrets, Traefik files"),
    rate_limit: bool = typer.Option(True, help="apply the gateway's rate limit (off for gateway benchmarks)"),
    demo: bool = typer.Option(True, help="load the demo tenant Acme with Acme GmbH and its admin"),
    startup_timeout: float = typer.Option(90.0, help="seconds to wait for every health check"),
    http_server: str = typer.Option("uvicorn", envvar="BUILDIFY_HTTP_SERVER",
                                    help="uvicorn or granian (granian: bench extra); see docs/benchmarks.md"),
    http_workers: int = typer.Option(1, envvar="BUILDIFY_HTTP_WORKERS", help="worker processes per service"),
) -> None:
    """Start PostgreSQL, core, the modules and Traefik; Ctrl-C stops them all."""
    options = DevOptions(
        gateway_port=gateway_port,
        admin_port=admin_port,
        core_port=core_port,
        module_ports={"financial": financial_port, "warehouse": warehouse_port},
        database_url=database_url or None,
        data_dir=data_dir,
        rate_limit=rate_limit,
        demo=demo,
        startup_timeout=startup_timeout,
        http_server=http_server,
        http_workers=http_workers,
    )
    raise typer.Exit(run(options))


def main() -> None:
    typer.run(dev)


deploy = typer.Typer(help="deploy/: files generated from the platform's definitions.", no_args_is_help=True)


@deploy.command("generate")
def generate(check: bool = typer.Option(False, "--check", help="only report files that differ; exit 1 if any")) -> None:
    """Write deploy/traefik/dynamic and the generated deploy/k8s files from services/runtime/gateway.py."""
    from services.runtime.deploy import generate as files

    if check:
        stale = files.differing()
        for path in stale:
            typer.echo(f"deploy/{path} differs from what `buildify deploy generate` writes")
        raise typer.Exit(1 if stale else 0)
    changed = files.write()
    typer.echo("\n".join(f"wrote deploy/{path}" for path in changed) or "deploy/ is up to date")


module = typer.Typer(help="Modules: scaffold a new one on the module kit.", no_args_is_help=True)


@module.command("new")
def new_module(
    name: str = typer.Argument(..., help="the module's name: lower-case letters, digits, underscores"),
    port: int | None = typer.Option(None, help="its port (default: the next free one after the others)"),
    display_name: str | None = typer.Option(None, help="the name people see (default: from NAME)"),
    services: Path = typer.Option(SERVICES, help="where module folders live"),
) -> None:
    """Scaffold services/NAME/: manifest, app on the kit, table and migration, endpoint, handler, page, tests."""
    from services.runtime.scaffold import ScaffoldError, scaffold

    try:
        target = scaffold(name, services, port=port, display_name=display_name)
    except ScaffoldError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"created {target}\nnext: run its tests (see {target / 'README.md'}), then `buildify deploy generate`")
