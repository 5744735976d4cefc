-- Core platform tables: identity, RBAC and the module registry (the seed's schema, extended).
CREATE TABLE IF NOT EXISTS tenants (
    id uuid PRIMARY KEY,
    name varchar(200) NOT NULL,
    slug varchar(63) NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS companies (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants(id),
    name varchar(200) NOT NULL,
    currency varchar(3),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, name)
);

CREATE TABLE IF NOT EXISTS users (
    id uuid PRIMARY KEY,
    email varchar(320) NOT NULL UNIQUE,
    password_hash text NOT NULL,
    tenant_id uuid REFERENCES tenants(id),
    is_platform_admin boolean NOT NULL DEFAULT false,
    is_tenant_admin boolean NOT NULL DEFAULT false,
    is_active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS users_tenant_idx ON users (tenant_id);

-- tenant_id NULL: a built-in role offered to every tenant.
CREATE TABLE IF NOT EXISTS roles (
    id uuid PRIMARY KEY,
    tenant_id uuid REFERENCES tenants(id),
    name varchar(100) NOT NULL,
    description text NOT NULL DEFAULT '',
    permissions jsonb NOT NULL DEFAULT '[]',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS roles_name_idx
    ON roles (coalesce(tenant_id, '00000000-0000-0000-0000-000000000000'::uuid), name);

CREATE TABLE IF NOT EXISTS user_company_roles (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    company_id uuid NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    role_id uuid NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    UNIQUE (user_id, company_id, role_id)
);

CREATE TABLE IF NOT EXISTS modules (
    id uuid PRIMARY KEY,
    name varchar(40) NOT NULL UNIQUE,
    display_name varchar(200) NOT NULL,
    version varchar(64) NOT NULL,
    manifest jsonb NOT NULL,
    registered_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS tenant_modules (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants(id),
    module_id uuid NOT NULL REFERENCES modules(id),
    is_enabled boolean NOT NULL DEFAULT true,
    configuration jsonb NOT NULL DEFAULT '{}',
    enabled_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz,
    UNIQUE (tenant_id, module_id)
);

CREATE TABLE IF NOT EXISTS company_modules (
    id uuid PRIMARY KEY,
    company_id uuid NOT NULL REFERENCES companies(id),
    tenant_module_id uuid NOT NULL REFERENCES tenant_modules(id) ON DELETE CASCADE,
    is_enabled boolean DEFAULT true,
    configuration jsonb,
    enabled_features jsonb,
    disabled_features jsonb,
    customized_at timestamptz,
    customized_by_user_id uuid,
    created_at timestamptz DEFAULT now(),
    updated_at timestamptz,
    UNIQUE (company_id, tenant_module_id)
);

CREATE TABLE IF NOT EXISTS module_config_audit (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    company_id uuid,
    module_name varchar(40) NOT NULL,
    action varchar(40) NOT NULL,
    actor_user_id uuid,
    before jsonb NOT NULL DEFAULT '{}',
    after jsonb NOT NULL DEFAULT '{}',
    changed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS module_config_audit_scope_idx
    ON module_config_audit (tenant_id, module_name, changed_at);
