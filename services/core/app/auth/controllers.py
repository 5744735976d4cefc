"""Login, the JWKS modules verify tokens with, and the caller's own view (/me, /me/modules)."""

from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, get, post
from litestar.openapi.spec import Example
from litestar.params import Body

from contracts.manifest import MenuEntry
from services.core.app.auth.passwords import HashingBusy, verify_password_async
from services.core.app.auth.principal import Principal, load_principal
from services.core.app.auth.refresh import issue_refresh_token, revoke_refresh_token, rotate_refresh_token
from services.core.app.companies.controllers import CompanyOut, company_out, visible_company
from services.core.app.context import CoreContext
from services.core.app.errors import Busy, NotAuthenticated, TooManyAttempts
from services.core.app.modules.registry import ModuleRegistry
from services.core.app.modules.schemas import MyModule
from services.core.app.tables import Company, Tenant, User
from services.core.app.tenants.controllers import TenantOut, tenant_out


class Login(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    email: Annotated[str, msgspec.Meta(min_length=3, max_length=320)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]


class RefreshIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    refresh_token: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class TokenOut(msgspec.Struct, frozen=True, kw_only=True):
    access_token: str
    token_type: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int


class PublicJwk(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One verifying key (RFC 7517): Ed25519 keys carry `crv` and `x`, RSA keys `n` and `e`."""

    kty: str
    kid: str
    use: str
    alg: str
    crv: str | None = None
    x: str | None = None
    n: str | None = None
    e: str | None = None


class Jwks(msgspec.Struct, frozen=True, kw_only=True):
    """The keys tokens are verified with: the current key first, then rotated-out ones."""

    keys: list[PublicJwk]


class MeUser(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    email: str
    platform_admin: bool
    tenant_admin: bool


class MeCompany(msgspec.Struct, frozen=True, kw_only=True):
    company: CompanyOut
    roles: list[str]
    permissions: list[str]


class Me(msgspec.Struct, frozen=True, kw_only=True):
    user: MeUser
    tenant: TenantOut | None
    companies: list[MeCompany]
    roles: list[str]
    permissions: list[str]


def token_out(core: CoreContext, principal: Principal, refresh: str) -> TokenOut:
    return TokenOut(access_token=core.tokens.issue(principal.claims()), token_type="bearer",
                    expires_in=core.tokens.ttl, refresh_token=refresh,
                    refresh_expires_in=core.settings.refresh_token_ttl)


def client_address(request: Request[Any, Any, Any]) -> str:
    """The caller's address: the last X-Forwarded-For hop (the one our gateway added), else the peer."""
    forwarded = [hop.strip() for hop in request.headers.get("x-forwarded-for", "").split(",") if hop.strip()]
    if forwarded:
        return forwarded[-1]
    return request.client.host if request.client else "unknown"


class AuthController(Controller):
    path = "/api/v1"
    tags = ["auth"]

    @post("/auth/login", status_code=200, summary="Exchange email and password for an access token (JWT)")
    async def login(
        self,
        request: Request[Any, Any, Any],
        data: Annotated[Login, Body(examples=[Example(summary="Sign in", value={
            "email": "admin@example.com", "password": "correct horse battery"})])],
        core: CoreContext,
    ) -> TokenOut:
        email = data.email.strip().lower()
        address = client_address(request)
        throttle = core.login_throttle
        wait = throttle.retry_after(email, address)
        if wait is not None:
            raise TooManyAttempts(f"Too many failed sign-ins for this account or from this address; try again in "
                                  f"{wait} s.", retry_after=wait)
        user = await User.objects().where(User.email == email).first()
        try:
            valid = await verify_password_async(user.password_hash if user else None, data.password)
        except HashingBusy as exc:
            raise Busy("Core is checking many passwords right now; try again in a moment.") from exc
        if not valid or user is None:
            throttle.failed(email, address)
            raise NotAuthenticated("The `email` or `password` is wrong.")
        throttle.succeeded(email)
        principal = await load_principal(user.id)
        if principal is None:
            raise NotAuthenticated("This account is disabled.")
        refresh = await issue_refresh_token(user.id, core.settings.refresh_token_ttl)
        return token_out(core, principal, refresh)

    @post("/auth/refresh", status_code=200, summary="Exchange a refresh token for a new access token "
          "(companies and roles read again) and the next refresh token; each refresh token works once")
    async def refresh(self, data: RefreshIn, core: CoreContext) -> TokenOut:
        user_id, successor = await rotate_refresh_token(data.refresh_token, core.settings.refresh_token_ttl)
        principal = await load_principal(user_id)
        if principal is None:
            await revoke_refresh_token(successor)
            raise NotAuthenticated("This account is disabled.")
        return token_out(core, principal, successor)

    @post("/auth/logout", status_code=204, summary="Revoke a refresh token (and every token it was renewed from)")
    async def logout(self, data: RefreshIn) -> None:
        await revoke_refresh_token(data.refresh_token)

    @get("/auth/jwks", summary="Public keys (JWKS) that verify access tokens: current and rotated-out keys")
    async def jwks(self, core: CoreContext) -> Jwks:
        return msgspec.convert(core.tokens.jwks(), Jwks)

    @get("/me", summary="You: user, tenant, companies, roles and permissions")
    async def me(self, principal: Principal) -> Me:
        tenant = await Tenant.objects().where(Tenant.id == principal.tenant_id).first() \
            if principal.tenant_id else None
        ids = [UUID(c) for c in principal.companies]
        rows = await Company.objects().where(Company.id.is_in(ids) & Company.archived_at.is_null()) \
            .order_by(Company.name) if ids else []  # an archived company leaves the picker
        claims = principal.claims()
        return Me(
            user=MeUser(id=principal.user_id, email=principal.email, platform_admin=principal.platform_admin,
                        tenant_admin=principal.tenant_admin),
            tenant=tenant_out(tenant) if tenant else None,
            companies=[MeCompany(company=company_out(c), roles=principal.roles.get(str(c.id), []),
                                 permissions=principal.companies.get(str(c.id), [])) for c in rows],
            roles=claims.roles,
            permissions=principal.permissions(),
        )

    @get("/me/modules", summary="Modules enabled for your company, filtered by your permissions")
    async def my_modules(self, company_id: UUID, principal: Principal, core: CoreContext) -> list[MyModule]:
        company = await visible_company(company_id, principal)
        registry = ModuleRegistry(core.bus, core.settings.platform_version)
        mine = set(principal.companies.get(str(company.id), []))
        admin = principal.is_admin_of(company.tenant_id)
        out = []
        for manifest, features in await registry.modules_for_company(company.tenant_id, company.id):
            held = [p.name for p in manifest.permissions if admin or p.name in mine]
            if manifest.permissions and not held:
                continue
            menu: list[MenuEntry] = [
                m for m in (manifest.frontend.menu if manifest.frontend else [])
                if m.permission is None or admin or m.permission in mine
            ]
            out.append(MyModule(name=manifest.name, display_name=manifest.display_name, version=manifest.version,
                                api_prefix=manifest.backend.api_prefix,
                                entry=manifest.frontend.entry if manifest.frontend else None,
                                menu=menu, features=features, permissions=held))
        return out
