"""The permission catalogue: core's own permissions plus those every registered manifest declares.

Roles may hold wildcards (`*`, `financial.*`, `*.read`); they are expanded against the catalogue
when a principal is built, so a role written before a module registered still covers its permissions.
"""

from fnmatch import fnmatchcase
from typing import Any

import msgspec

from services.core.app.tables import Module

CORE_PERMISSIONS: dict[str, str] = {
    "core.tenants.manage": "Create tenants (platform administrators)",
    "core.companies.read": "See the companies of the tenant",
    "core.companies.manage": "Create and change companies",
    "core.users.read": "See the users of a company",
    "core.users.manage": "Create users and assign their roles",
    "core.roles.manage": "Create roles",
    "core.modules.read": "See a company's module settings and their audit history",
    "core.modules.manage": "Enable, disable and configure modules",
    "platform.bus.admin": "Operate the event bus: replay, dead letters (platform administrators)",
}

# Never granted through a role: only platform administrators hold these.
PLATFORM_ONLY = frozenset({"core.tenants.manage", "platform.bus.admin"})


def manifest_permissions(manifest: dict[str, Any]) -> dict[str, str]:
    return {
        str(p["name"]): str(p.get("description", ""))
        for p in manifest.get("permissions", [])
        if isinstance(p, dict) and "name" in p
    }


async def catalogue() -> dict[str, str]:
    """Every known permission name with its description."""
    perms = dict(CORE_PERMISSIONS)
    rows = await Module.select(Module.manifest).output(load_json=True)
    for row in rows:
        perms.update(manifest_permissions(row["manifest"]))
    return perms


def expand(patterns: list[str], known: dict[str, str] | list[str]) -> set[str]:
    """The permissions of `known` matched by `patterns` (platform-only ones never match)."""
    names = [n for n in known if n not in PLATFORM_ONLY]
    return {n for n in names if any(fnmatchcase(n, p) for p in patterns)}


def is_valid_pattern(pattern: str, known: dict[str, str]) -> bool:
    """A role's permission must name a known permission or be a wildcard matching at least one."""
    if "*" in pattern:
        return bool(expand([pattern], known)) or pattern == "*"
    return pattern in known and pattern not in PLATFORM_ONLY


class PermissionOut(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    description: str
    source: str
