-- Items, warehouses and their locations, immutable movements, derived stock levels and
-- reservations for invoices. {prefix} is the table prefix (warehouse_ by default).

CREATE TABLE "{prefix}items" (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    company_id uuid NOT NULL,
    sku varchar(64) NOT NULL,
    name varchar(200) NOT NULL,
    unit varchar(20) NOT NULL DEFAULT 'pcs',
    unit_cost numeric(18, 4) NOT NULL DEFAULT 0 CHECK (unit_cost >= 0),
    low_stock_threshold numeric(18, 4) NOT NULL DEFAULT 0 CHECK (low_stock_threshold >= 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT "{prefix}items_company_sku" UNIQUE (company_id, sku)
);
CREATE INDEX "{prefix}items_tenant" ON "{prefix}items" (tenant_id);

CREATE TABLE "{prefix}warehouses" (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    company_id uuid NOT NULL,
    code varchar(40) NOT NULL,
    name varchar(200) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT "{prefix}warehouses_company_code" UNIQUE (company_id, code)
);

CREATE TABLE "{prefix}locations" (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    company_id uuid NOT NULL,
    warehouse_id uuid NOT NULL REFERENCES "{prefix}warehouses" (id) ON DELETE RESTRICT,
    code varchar(40) NOT NULL,
    name varchar(200) NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT "{prefix}locations_warehouse_code" UNIQUE (warehouse_id, code)
);
CREATE INDEX "{prefix}locations_company" ON "{prefix}locations" (company_id);

-- Stock leaves `from_location_id` and arrives at `to_location_id`; the quantity is always positive.
CREATE TABLE "{prefix}movements" (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    company_id uuid NOT NULL,
    kind varchar(20) NOT NULL,
    item_id uuid NOT NULL REFERENCES "{prefix}items" (id) ON DELETE RESTRICT,
    quantity numeric(18, 4) NOT NULL CHECK (quantity > 0),
    from_location_id uuid REFERENCES "{prefix}locations" (id) ON DELETE RESTRICT,
    to_location_id uuid REFERENCES "{prefix}locations" (id) ON DELETE RESTRICT,
    unit_cost numeric(18, 4) NOT NULL,
    reason text NOT NULL DEFAULT '',
    invoice_id uuid,
    created_by varchar(100),
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT "{prefix}movements_shape" CHECK (
        (kind = 'receipt' AND from_location_id IS NULL AND to_location_id IS NOT NULL)
        OR (kind = 'issue' AND from_location_id IS NOT NULL AND to_location_id IS NULL)
        OR (kind = 'transfer' AND from_location_id IS NOT NULL AND to_location_id IS NOT NULL
            AND from_location_id <> to_location_id)
        OR (kind = 'adjustment' AND reason <> '' AND (from_location_id IS NULL) <> (to_location_id IS NULL))
    )
);
CREATE INDEX "{prefix}movements_company_time" ON "{prefix}movements" (company_id, created_at);
CREATE INDEX "{prefix}movements_item" ON "{prefix}movements" (item_id);

-- Derived from the movements (on_hand) and reservations (reserved), kept in the same transaction.
CREATE TABLE "{prefix}stock_levels" (
    item_id uuid NOT NULL REFERENCES "{prefix}items" (id) ON DELETE RESTRICT,
    location_id uuid NOT NULL REFERENCES "{prefix}locations" (id) ON DELETE RESTRICT,
    tenant_id uuid NOT NULL,
    company_id uuid NOT NULL,
    on_hand numeric(18, 4) NOT NULL DEFAULT 0,
    reserved numeric(18, 4) NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    PRIMARY KEY (item_id, location_id)
);
CREATE INDEX "{prefix}stock_levels_company" ON "{prefix}stock_levels" (company_id);

CREATE TABLE "{prefix}reservations" (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    company_id uuid NOT NULL,
    invoice_id uuid NOT NULL,
    item_id uuid NOT NULL REFERENCES "{prefix}items" (id) ON DELETE RESTRICT,
    location_id uuid NOT NULL REFERENCES "{prefix}locations" (id) ON DELETE RESTRICT,
    quantity numeric(18, 4) NOT NULL CHECK (quantity > 0),
    currency varchar(3) NOT NULL,
    status varchar(10) NOT NULL DEFAULT 'held' CHECK (status IN ('held', 'issued', 'released')),
    created_at timestamptz NOT NULL DEFAULT now(),
    settled_at timestamptz,
    CONSTRAINT "{prefix}reservations_line" UNIQUE (invoice_id, item_id, location_id)
);
CREATE INDEX "{prefix}reservations_company_status" ON "{prefix}reservations" (company_id, status);

-- A movement is a fact: never updated, deleted only by a purge that says so.
CREATE FUNCTION "{prefix}refuse_change"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('buildify.purge', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'stock movements are immutable' USING ERRCODE = 'P0001';
END $$;
CREATE TRIGGER "{prefix}movements_immutable" BEFORE UPDATE OR DELETE ON "{prefix}movements"
    FOR EACH ROW EXECUTE FUNCTION "{prefix}refuse_change"();
