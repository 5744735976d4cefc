"""The modules deploy/ describes: MODULE_PORTS and every module folder with a manifest, with its routing facts."""

import json
from dataclasses import dataclass
from pathlib import Path

import msgspec

from contracts.manifest import Backend, Manifest
from services.runtime.gateway import module_ports
from services.runtime.paths import SERVICES


@dataclass(frozen=True, slots=True)
class DeployedModule:
    name: str
    port: int
    manifest: Manifest


def manifest_of(name: str, port: int, services: Path = SERVICES) -> Manifest:
    """The module's manifest; a module whose folder has none yet is routed by the conventions
    every manifest must follow (`/api/v1/<name>`, `/health`), so its routes exist before its code."""
    path = services / name / "manifest.json"
    if path.exists():
        manifest = msgspec.convert(json.loads(path.read_text()), Manifest)
        if manifest.backend.port not in (None, port):
            raise ValueError(f"{path}: backend.port {manifest.backend.port} differs from MODULE_PORTS ({port})")
        return manifest
    backend = Backend(api_prefix=f"/api/v1/{name}", port=port)
    return Manifest(name=name, display_name=name.title(), version="0.0.0", backend=backend)


def deployed_modules(services: Path = SERVICES) -> list[DeployedModule]:
    ports = module_ports(services)
    return [DeployedModule(n, port, manifest_of(n, port, services)) for n, port in sorted(ports.items())]
