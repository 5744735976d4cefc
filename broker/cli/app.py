"""The `buildify-events` typer application and its sub-command groups; commands register on
them from the modules of this package."""

import typer

from broker.asyncapi_cli import asyncapi_command

app = typer.Typer(
    name="buildify-events",
    help="See and repair the Buildify event bus: events, deliveries, replays and dead letters.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
dlq_app = typer.Typer(help="Dead letters: list, show, redrive, purge.", no_args_is_help=True)
app.add_typer(dlq_app, name="dlq")
app.command("asyncapi")(asyncapi_command)
subscriptions_app = typer.Typer(help="Subscriptions: retire one that no code serves any more.", no_args_is_help=True)
app.add_typer(subscriptions_app, name="subscriptions")
