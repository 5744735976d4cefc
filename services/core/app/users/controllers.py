"""Users: an account in one tenant, with roles per company. Passwords are argon2 hashes."""

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec
from litestar import Controller, get, post
from litestar.openapi.spec import Example
from litestar.params import Body

from contracts.core import UserCreated
from contracts.ids import uuid7
from services.core.app.auth.passwords import HashingBusy, hash_password_async
from services.core.app.auth.principal import Principal
from services.core.app.context import CoreContext
from services.core.app.errors import Busy, Conflict, Forbidden, Invalid, NotFound, TooManyAttempts
from services.core.app.paging import DEFAULT_LIMIT, Limit, Offset
from services.core.app.rbac.permissions import catalogue, expand
from services.core.app.tables import Company, Role, Tenant, User, UserCompanyRole
from services.core.app.unique import unique_as_conflict

EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class CreateUser(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    email: Annotated[str, msgspec.Meta(pattern=EMAIL, max_length=320)]
    password: Annotated[str, msgspec.Meta(min_length=8, max_length=1024)]
    tenant_id: UUID
    company_ids: list[UUID] = msgspec.field(default_factory=list)
    roles: list[str] = msgspec.field(default_factory=list)
    tenant_admin: bool = False


class Membership(msgspec.Struct, frozen=True, kw_only=True):
    company_id: UUID
    roles: list[str]


class UserOut(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    email: str
    tenant_id: UUID | None
    tenant_admin: bool
    platform_admin: bool
    is_active: bool
    companies: list[Membership]
    created_at: datetime


async def users_out(users: list[User]) -> list[UserOut]:
    """Every user's answer, with their memberships read in one query (not one per user)."""
    if not users:
        return []
    rows = await UserCompanyRole.select(
        UserCompanyRole.user_id, UserCompanyRole.company_id, UserCompanyRole.role_id.name
    ).where(UserCompanyRole.user_id.is_in([u.id for u in users]))
    memberships: dict[UUID, dict[UUID, list[str]]] = {}
    for row in rows:
        memberships.setdefault(row["user_id"], {}).setdefault(row["company_id"], []).append(row["role_id.name"])
    return [_user_out(u, memberships.get(u.id, {})) for u in users]


async def user_out(user: User) -> UserOut:
    return (await users_out([user]))[0]


def _user_out(user: User, by_company: dict[UUID, list[str]]) -> UserOut:
    return UserOut(
        id=user.id,
        email=user.email,
        tenant_id=user.tenant_id,
        tenant_admin=user.is_tenant_admin,
        platform_admin=user.is_platform_admin,
        is_active=user.is_active,
        companies=[Membership(company_id=c, roles=sorted(r)) for c, r in by_company.items()],
        created_at=user.created_at,
    )


def readable_companies(principal: Principal) -> list[UUID]:
    """Companies where the principal may see the users (`core.users.read`)."""
    return [UUID(c) for c, perms in principal.companies.items() if "core.users.read" in perms]


async def shares_company(principal: Principal, user: User) -> bool:
    ids = readable_companies(principal)
    if not ids:
        return False
    return await UserCompanyRole.exists().where(
        (UserCompanyRole.user_id == user.id) & UserCompanyRole.company_id.is_in(ids)
    )


async def visible_user(user_id: UUID, principal: Principal) -> User:
    user = await User.objects().where(User.id == user_id).first()
    if user is None:
        raise NotFound(f"No user {user_id}.")
    if principal.platform_admin or user.id == principal.user_id:
        return user
    if user.tenant_id == principal.tenant_id and (principal.tenant_admin or await shares_company(principal, user)):
        return user
    raise NotFound(f"No user {user_id}.")


async def resolve_roles(names: list[str], tenant_id: UUID) -> list[Role]:
    roles = await Role.objects().where(
        Role.name.is_in(names or [""]) & ((Role.tenant_id == tenant_id) | Role.tenant_id.is_null())
    )
    found = {r.name: r for r in sorted(roles, key=lambda r: r.tenant_id is None)}  # tenant's own wins
    missing = [n for n in names if n not in found]
    if missing:
        raise Invalid(f"`roles`: unknown role(s) {', '.join(missing)}.", field="roles")
    return [found[n] for n in dict.fromkeys(names)]


def email_conflict(core: CoreContext, principal: Principal) -> None:
    """Count a create-user attempt that hit an existing email; too many answer 429.

    The email of every account is unique across tenants (sign-in is by email alone), so a 409
    tells that an address has an account somewhere. Counting these per creator bounds how many
    addresses a tenant administrator can probe.
    """
    if principal.platform_admin:
        return
    key = f"email-conflicts:{principal.user_id}"
    wait = core.login_throttle.addresses.retry_after(key)
    if wait is not None:
        raise TooManyAttempts(f"Too many attempts with emails that are already registered; try again in {wait} s.",
                              retry_after=wait)
    core.login_throttle.addresses.fail(key)


async def hashed(password: str) -> str:
    try:
        return await hash_password_async(password)
    except HashingBusy as exc:
        raise Busy("Core is hashing many passwords right now; try again in a moment.") from exc


async def grants_within_own(principal: Principal, roles: list[Role], company_ids: list[UUID], tenant_id: UUID) -> None:
    """Refuse roles that hold a permission the granter lacks in one of the companies.

    `core.users.manage` lets a user hand out what they have, never more (no built-in `admin`).
    """
    known = await catalogue()
    for role in roles:
        granted = expand(list(role.permissions or []), known)
        for company_id in company_ids:
            beyond = sorted(granted - set(principal.companies.get(str(company_id), [])))
            if beyond:
                shown = ", ".join(beyond[:5]) + (", ..." if len(beyond) > 5 else "")
                raise Forbidden(
                    f"`roles`: role {role.name!r} grants permissions you do not hold in company {company_id} "
                    f"({shown}); you can only grant what you hold.",
                    field="roles",
                )


class UserController(Controller):
    path = "/api/v1/users"
    tags = ["users"]

    @post("/", summary="Create a user with roles in companies",
          description="Tenant administrators create any user of their tenant; a user holding "
          "`core.users.manage` in every listed company creates ordinary users there. "
          "Publishes `core.user.created`.")
    async def create_user(
        self,
        data: Annotated[
            CreateUser,
            Body(examples=[Example(summary="An accountant", value={
                "email": "anna@acme.example", "password": "correct horse battery",
                "tenant_id": "0191d7a4-0000-7000-8000-000000000001",
                "company_ids": ["0191d7a4-0000-7000-8000-000000000002"], "roles": ["member"]})]),
        ],
        principal: Principal,
        core: CoreContext,
    ) -> UserOut:
        if not principal.sees_tenant(data.tenant_id) or not await Tenant.exists().where(Tenant.id == data.tenant_id):
            raise NotFound(f"No tenant {data.tenant_id} (field `tenant_id`).", field="tenant_id")
        companies = await Company.select(Company.id).where(
            Company.id.is_in(data.company_ids or [uuid7()]) & (Company.tenant_id == data.tenant_id)
        )
        unknown = sorted({str(c) for c in data.company_ids} - {str(c["id"]) for c in companies})
        if unknown:
            raise NotFound(f"`company_ids`: no company {', '.join(unknown)} in this tenant.",
                           field="company_ids")
        if not principal.is_admin_of(data.tenant_id):
            if data.tenant_admin or not data.company_ids:
                raise Forbidden(
                    "Only the tenant's administrators create tenant administrators or users without companies."
                )
            for company_id in data.company_ids:
                principal.require("core.users.manage", company_id, data.tenant_id)
        if data.roles and not data.company_ids:
            raise Invalid(
                "`roles` are given per company: list the `company_ids` they apply in.", field="roles"
            )
        roles = await resolve_roles(data.roles, data.tenant_id)
        if not principal.is_admin_of(data.tenant_id):
            await grants_within_own(principal, roles, data.company_ids, data.tenant_id)
        email = data.email.strip().lower()
        if await User.exists().where(User.email == email):
            email_conflict(core, principal)
            raise Conflict(f"`email` {email!r} is already registered.", field="email")
        user = User(id=uuid7(), email=email, password_hash=await hashed(data.password), tenant_id=data.tenant_id,
                    is_tenant_admin=data.tenant_admin)
        async with unique_as_conflict("email", email), User._meta.db.transaction() as tx:
            await user.save()
            links = [UserCompanyRole(id=uuid7(), user_id=user.id, company_id=c, role_id=r.id)
                     for c in dict.fromkeys(data.company_ids) for r in roles]
            if links:
                await UserCompanyRole.insert(*links)
            await core.bus.publish(
                tx.connection,
                UserCreated(user_id=user.id, tenant_id=data.tenant_id, email=email,
                            company_ids=list(dict.fromkeys(data.company_ids))),
                tenant_id=data.tenant_id,
            )
        return await user_out(user)

    @get("/", summary="Users you can see (your tenant's for its administrators, else those in a company "
         "where you hold `core.users.read`)")
    async def list_users(self, principal: Principal, tenant_id: UUID | None = None,
                         limit: Limit = DEFAULT_LIMIT, offset: Offset = 0) -> list[UserOut]:
        query = User.objects().order_by(User.created_at, User.id).limit(limit).offset(offset)
        if tenant_id is not None:
            query = query.where(User.tenant_id == tenant_id)
        if not principal.platform_admin:
            query = query.where(User.tenant_id == principal.tenant_id)
        if not principal.platform_admin and not principal.tenant_admin:
            ids = readable_companies(principal)
            members = UserCompanyRole.select(UserCompanyRole.user_id).where(UserCompanyRole.company_id.is_in(ids)) \
                if ids else None
            if members is None:
                query = query.where(User.id == principal.user_id)
            else:
                query = query.where((User.id == principal.user_id) | User.id.is_in(members))
        return await users_out(list(await query))

    @get("/{user_id:uuid}", summary="One user")
    async def get_user(self, user_id: UUID, principal: Principal) -> UserOut:
        return await user_out(await visible_user(user_id, principal))
