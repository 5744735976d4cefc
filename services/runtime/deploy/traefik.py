"""deploy/traefik/dynamic: core's routes and the shared middlewares, and the static module routes.

The first is what `make run` writes for its own Traefik (gateway.dynamic_config); the second is
what core's HTTP provider renders from the registry (core's gateway.routes.render), as a file.
"""

from typing import Any

from services.core.app.gateway.routes import render
from services.runtime.deploy.modules import DeployedModule
from services.runtime.gateway import GatewayPorts, dynamic_config

CORE_PORT = GatewayPorts().core
SHARED = ["security-headers", "rate-limit"]
# The origins the browser app is served from in compose (published on 8080). CHANGE for a public host.
COMPOSE_ORIGINS = ["http://localhost:8080", "http://127.0.0.1:8080"]


def core_routes(origins: list[str] = COMPOSE_ORIGINS) -> dict[str, Any]:
    return dynamic_config(GatewayPorts(), cors_origins=origins, core_url=f"http://core:{CORE_PORT}")


def module_routes(modules: list[DeployedModule], *, host: str = "{name}") -> dict[str, Any]:
    upstreams = {m.name: f"http://{host.format(name=m.name)}:{m.port}" for m in modules}
    return render([m.manifest for m in modules], upstreams=upstreams, middlewares=SHARED, entry_points=["web"])
