"""`buildify module new NAME`: a module folder on the kit, from the templates beside this file.

Every file under template/ is copied with `{{name}}`, `{{Name}}`, `{{display_name}}`, `{{port}}`
and `{{dist_name}}` filled in (`.tmpl` dropped). What a name or port may not be is checked
first, so a refused scaffold leaves nothing behind.
"""

import json
import keyword
import re
from dataclasses import dataclass
from pathlib import Path

from contracts.manifest import MODULE_NAME
from services.runtime.gateway import GatewayPorts, module_ports

TEMPLATE = Path(__file__).resolve().parent / "template"
# Names core, the gateway or the repository already use for something else.
RESERVED = {"core", "runtime", "scaffold", "admin", "api", "auth", "gateway", "health", "modules", "metrics",
            "static", "schema", "tests", "services", "broker", "contracts", "modulekit", "packages", "deploy"}

MAX_NAME = 20


class ScaffoldError(ValueError):
    """The module cannot be scaffolded as asked."""


@dataclass(frozen=True, slots=True)
class NewModule:
    name: str
    port: int
    display_name: str

    @property
    def camel(self) -> str:
        return "".join(part.capitalize() for part in self.name.split("_"))


def taken_ports(services: Path) -> dict[int, str]:
    """Every port a service of the platform (or Traefik) already uses, and by whom."""
    defaults = GatewayPorts()
    ports = {defaults.gateway: "the gateway", defaults.admin: "Traefik's admin entry point", defaults.core: "core"}
    ports.update({port: name for name, port in module_ports(services).items()})
    return ports


def check(name: str, port: int | None, services: Path) -> int:
    """The port to use; raises ScaffoldError saying what is wrong with `name` or `port`."""
    if not re.match(MODULE_NAME, name) or keyword.iskeyword(name):
        raise ScaffoldError(f"{name!r} is not a module name: 2-40 lower-case letters, digits and underscores, "
                            "starting with a letter (it is a URL segment and a Python package)")
    if len(name) > MAX_NAME:
        raise ScaffoldError(f"{name!r} is longer than {MAX_NAME} characters (it becomes table, class and file names)")
    if name in RESERVED:
        raise ScaffoldError(f"{name!r} is reserved (the platform uses it); choose another name")
    if (services / name).exists():
        raise ScaffoldError(f"services/{name} exists already")
    taken = taken_ports(services)
    if port is None:  # the next free port after the modules' (8001, 8002, ... -> 8003)
        port = max([GatewayPorts().core, *module_ports(services).values()]) + 1
        while port in taken:
            port += 1
    if port in taken:
        raise ScaffoldError(f"port {port} is taken by {taken[port]}; pass another with --port")
    if not 1024 <= port <= 65535:
        raise ScaffoldError(f"port {port} is outside 1024-65535")
    return port


def render(text: str, module: NewModule) -> str:
    values = {"name": module.name, "Name": module.camel, "display_name": module.display_name,
              "port": str(module.port), "dist_name": module.name.replace("_", "-")}
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    return text


def scaffold(name: str, services: Path, *, port: int | None = None, display_name: str | None = None) -> Path:
    """Write services/<name>/ and return it."""
    module = NewModule(name, check(name, port, services), display_name or name.replace("_", " ").title())
    target = services / name
    for source in sorted(TEMPLATE.rglob("*.tmpl")):
        path = target / source.relative_to(TEMPLATE).with_suffix("")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(source.read_text(), module))
    json.loads((target / "manifest.json").read_text())  # the template renders valid JSON
    return target
