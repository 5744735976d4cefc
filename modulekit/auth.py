"""Who is asking and what they may do: the `Principal` behind a verified token, and the
`requires(permission)` guard that checks tenant, company membership and permission."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from contracts.auth import AccessClaims
from modulekit.errors import Forbidden, NotFound, Unauthorized
from modulekit.tokens import TokenVerifier

MODULE_KEY_HEADER = "X-Module-Key"
Guard = Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Awaitable[None]]


def module_key_headers(api_key: str) -> dict[str, str]:
    """Headers of a module -> core call: the module's own key, never a user's token."""
    return {MODULE_KEY_HEADER: api_key}


@dataclass(frozen=True, slots=True)
class Principal:
    """The user behind a verified access token."""

    claims: AccessClaims

    @property
    def user_id(self) -> str:
        return self.claims.sub

    @property
    def tenant_id(self) -> UUID | None:
        """The tenant the caller may see (None only for platform admins: all tenants)."""
        if self.claims.platform_admin and self.claims.tenant_id is None:
            return None
        return self.claims.tenant_id

    def require(self, permission: str, company_id: UUID, *, hide: bool = False) -> None:
        """Refuse unless the user holds `permission` in `company_id`.

        A company the user does not belong to is reported as missing (404) when `hide` is set,
        so ids of other tenants' records reveal nothing.
        """
        if str(company_id) not in self.claims.companies and not self.claims.platform_admin:
            if hide:
                raise NotFound()
            raise Forbidden(f"you do not belong to company {company_id}")
        if not self.claims.can(permission, company_id):
            raise Forbidden(f"you need the permission {permission} in company {company_id}")


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send the access token from core as 'Authorization: Bearer <token>'")
    return token.strip()


async def authenticate(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler | None = None) -> None:
    """Guard: verify the bearer token with `app.state.verifier` and keep its `Principal`.

    Tokens of no tenant are refused (every module's data belongs to one), except a platform admin's.
    """
    state = connection.scope["state"]
    if isinstance(state.get("principal"), Principal):
        return
    verifier: TokenVerifier = connection.app.state.verifier
    claims = await verifier.verify(bearer_token(connection))
    if claims.tenant_id is None and not claims.platform_admin:
        raise Forbidden("this token belongs to no tenant, and module data always does")
    state["principal"] = Principal(claims)


def _company_in(connection: ASGIConnection[Any, Any, Any, Any]) -> UUID | None:
    raw = connection.path_params.get("company_id") or connection.query_params.get("company_id")
    try:
        return raw if isinstance(raw, UUID) else UUID(str(raw)) if raw else None
    except ValueError:
        return None  # the handler's own parameter validation answers 400


def requires(permission: str, *, hide: bool = False) -> Guard:
    """Guard factory: a verified token and, when the route names `company_id` (path or query),
    `permission` in that company. Routes that learn the company later (a body, a loaded record)
    call `principal.require(permission, company_id)` once they know it."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
        await authenticate(connection, handler)
        company_id = _company_in(connection)
        if company_id is not None:
            principal_of(connection).require(permission, company_id, hide=hide)

    guard.__name__ = f"requires_{permission.replace('.', '_')}"
    return guard


def principal_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """The caller of an authenticated route (the `principal` dependency)."""
    principal = connection.scope["state"].get("principal")
    if not isinstance(principal, Principal):
        raise Unauthorized()
    return principal


async def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    """Dependency form of `principal_of`, wired by `create_module_app`."""
    return principal_of(request)
