"""`buildify-events asyncapi`: print the AsyncAPI 3 document of every event in `contracts/`.

Which module publishes and consumes what comes from manifest files (by default every
`services/*/manifest.json` under the current directory); a running core serves the same
document, built from its registry, at `/asyncapi`.
"""

import json
from pathlib import Path
from typing import Annotated

import msgspec
import typer

from broker.asyncapi import build_document
from contracts.catalog import event_classes
from contracts.manifest import Manifest

EXIT_BAD_INPUT = 2


def _manifest(path: Path) -> Manifest:
    try:
        return msgspec.json.decode(path.read_bytes(), type=Manifest)
    except OSError as exc:
        typer.echo(f"cannot read {path}: {exc.strerror}", err=True)
    except msgspec.DecodeError as exc:  # ValidationError is a DecodeError
        typer.echo(f"{path} is not a valid manifest: {exc}", err=True)
    raise typer.Exit(EXIT_BAD_INPUT)


def asyncapi_command(
    manifests: Annotated[list[Path] | None, typer.Option(
        "--manifest", "-m", help="A module's manifest.json (repeat); default: services/*/manifest.json here.")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write to this file instead of stdout.")] = None,
    version: Annotated[str, typer.Option("--version", help="The document's info.version.")] = "1.0.0",
) -> None:
    """Print the AsyncAPI 3 document: channels = event types, payload schemas, publishers, consumers."""
    paths = manifests if manifests is not None else sorted(Path.cwd().glob("services/*/manifest.json"))
    document = build_document(event_classes(), [_manifest(p) for p in paths], version=version)
    text = json.dumps(document, indent=2) + "\n"
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text)
        typer.echo(f"wrote {out}: {len(document['channels'])} event type(s)", err=True)
