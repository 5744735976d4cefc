"""The module kit: the plumbing core and every module stand on, so a module is a manifest,
tables, handlers and pages.

    def create_app(settings: FinancialSettings | None = None, **parts) -> Litestar:
        settings = settings or load_settings(FinancialSettings, service="financial")
        return create_module_app(service="financial", version=VERSION, settings=settings,
                                 parse_config=FinancialConfig.from_resolved, migrations=MIGRATIONS,
                                 route_handlers=[InvoiceController, ...], subscribers=build_routers,
                                 frontend=FRONTEND, **parts)

`broker` stays the bus; the kit imports `broker` and `contracts`, never a service.
"""

from modulekit.app import ModuleParts, create_module_app
from modulekit.auth import Principal, authenticate, module_key_headers, principal_of, requires
from modulekit.config import ConfigClient, config_router
from modulekit.database import Database
from modulekit.errors import (
    Conflict,
    DependencyUnavailable,
    FieldProblem,
    Forbidden,
    InternalError,
    InvalidInput,
    ModuleDisabled,
    NotFound,
    Problem,
    ProblemBody,
    Unauthorized,
    Unavailable,
    Unprocessable,
)
from modulekit.migrations import migrate
from modulekit.problems import PROBLEM_HANDLERS
from modulekit.settings import ModuleSettings, Secret, SettingsError, load_settings
from modulekit.tokens import TokenVerifier

__all__ = [
    "PROBLEM_HANDLERS",
    "ConfigClient",
    "Conflict",
    "Database",
    "DependencyUnavailable",
    "FieldProblem",
    "Forbidden",
    "InternalError",
    "InvalidInput",
    "ModuleDisabled",
    "ModuleParts",
    "ModuleSettings",
    "NotFound",
    "Principal",
    "Problem",
    "ProblemBody",
    "Secret",
    "SettingsError",
    "TokenVerifier",
    "Unauthorized",
    "Unavailable",
    "Unprocessable",
    "authenticate",
    "config_router",
    "create_module_app",
    "load_settings",
    "migrate",
    "module_key_headers",
    "principal_of",
    "requires",
]
