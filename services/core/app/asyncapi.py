"""`GET /asyncapi`: the AsyncAPI 3 document of every event, for people (HTML) and tools (JSON).

Built on each request from `contracts/` and the registered manifests, so registering a module
adds who publishes and who consumes without a deploy of core.
"""

from html import escape
from typing import Any

from litestar import Request, Response, get
from litestar.types import ControllerRouterHandler

from broker.asyncapi import build_document
from contracts.catalog import event_classes
from services.core.app.context import CoreContext
from services.core.app.gateway.controllers import registered_manifests


async def current_document(core: CoreContext) -> dict[str, Any]:
    return build_document(event_classes(), await registered_manifests(), version=core.settings.platform_version)


def _fields(message: dict[str, Any], schemas: dict[str, Any]) -> str:
    ref = message["payload"].get("$ref", "")
    schema = schemas.get(ref.rsplit("/", 1)[-1], {})
    required = set(schema.get("required", []))
    return ", ".join(
        f"{escape(name)}{'' if name in required else '?'}" for name in schema.get("properties", {})
    ) or "—"


def render_page(document: dict[str, Any]) -> str:
    """A plain table, readable under the gateway's CSP (no scripts, no inline styles)."""
    components = document["components"]
    rows = []
    for event_type, channel in document["channels"].items():
        message = components["messages"][event_type]
        rows.append(
            "<tr>"
            f"<td><code>{escape(event_type)}</code></td>"
            f"<td>{escape(message.get('summary', message.get('description', '')))}</td>"
            f"<td>{escape(', '.join(channel['x-publishers']))}</td>"
            f"<td>{escape(', '.join(channel['x-consumers']) or '—')}</td>"
            f"<td>{_fields(message, components['schemas'])}</td>"
            "</tr>"
        )
    info = document["info"]
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{escape(info['title'])}</title><link rel=stylesheet href=/app/style.css></head><body><main>"
        f"<h1>{escape(info['title'])} <small>{escape(info['version'])}</small></h1>"
        f"<p>{escape(info['description'])} The document itself: <a href=/asyncapi.json>/asyncapi.json</a> "
        f"(AsyncAPI {escape(document['asyncapi'])}).</p>"
        "<table><thead><tr><th scope=col>Event type</th><th scope=col>What happened</th>"
        "<th scope=col>Published by</th><th scope=col>Consumed by</th><th scope=col>Payload fields</th>"
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table></main></body></html>"
    )


@get("/asyncapi", tags=["events"], summary="AsyncAPI 3 document of every event (HTML for browsers)",
     description="Channels are event types; payload schemas come from the msgspec Structs in contracts/; "
     "the registered manifests say which module publishes and which consumes. A browser (Accept: text/html) "
     "gets a readable page, anything else the JSON document.")
async def asyncapi(request: Request[Any, Any, Any], core: CoreContext) -> Response[Any]:
    document = await current_document(core)
    if "text/html" in request.headers.get("accept", ""):
        return Response(render_page(document), media_type="text/html")
    return Response(document, media_type="application/json")


@get("/asyncapi.json", tags=["events"], summary="AsyncAPI 3 document of every event (JSON)")
async def asyncapi_json(core: CoreContext) -> dict[str, Any]:
    return await current_document(core)


ASYNCAPI: list[ControllerRouterHandler] = [asyncapi, asyncapi_json]
