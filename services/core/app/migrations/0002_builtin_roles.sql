-- Built-in roles every tenant can assign. Permissions may use `*` wildcards, expanded against
-- the permission catalogue (core's own plus every registered manifest's) when a token is made.
INSERT INTO roles (id, tenant_id, name, description, permissions) VALUES
    ('00000000-0000-7000-8000-000000000001', NULL, 'admin',
     'Every permission in the company', '["*"]'),
    ('00000000-0000-7000-8000-000000000002', NULL, 'member',
     'Read access to every module in the company', '["*.read"]')
ON CONFLICT DO NOTHING;
