"""Core's domain tables (Piccolo); the schema itself lives in migrations/*.sql.

The registry's tables (tenant_modules, company_modules, module_config_audit) are queried in SQL by
`modules/`, so they have no Piccolo class here.
"""

from piccolo.columns import JSONB, UUID, Boolean, ForeignKey, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from services.core.app.db import engine


class Tenant(Table, tablename="tenants", db=engine):
    id = UUID(primary_key=True)
    name = Varchar(length=200)
    slug = Varchar(length=63, unique=True)
    created_at = Timestamptz(default=TimestamptzNow())


class Company(Table, tablename="companies", db=engine):
    id = UUID(primary_key=True)
    tenant_id = ForeignKey(Tenant)
    name = Varchar(length=200)
    currency = Varchar(length=3, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    archived_at = Timestamptz(null=True, default=None)


class User(Table, tablename="users", db=engine):
    id = UUID(primary_key=True)
    email = Varchar(length=320, unique=True)
    password_hash = Text()
    tenant_id = ForeignKey(Tenant, null=True)
    is_platform_admin = Boolean(default=False)
    is_tenant_admin = Boolean(default=False)
    is_active = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())


class Role(Table, tablename="roles", db=engine):
    id = UUID(primary_key=True)
    tenant_id = ForeignKey(Tenant, null=True)
    name = Varchar(length=100)
    description = Text(default="")
    permissions = JSONB(default=[])
    created_at = Timestamptz(default=TimestamptzNow())


class UserCompanyRole(Table, tablename="user_company_roles", db=engine):
    id = UUID(primary_key=True)
    user_id = ForeignKey(User)
    company_id = ForeignKey(Company)
    role_id = ForeignKey(Role)


class Module(Table, tablename="modules", db=engine):
    id = UUID(primary_key=True)
    name = Varchar(length=40, unique=True)
    display_name = Varchar(length=200)
    version = Varchar(length=64)
    manifest = JSONB()
    registered_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
