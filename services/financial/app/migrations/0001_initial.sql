-- Accounts, journal (entries + lines), invoices (+ lines, numbering), payments; the keys and
-- checks the tables need, and the triggers that keep posted entries immutable.
-- `{prefix}` is the module's table prefix (SCHEMA_PREFIX). Re-runnable over a database created
-- before the kit's migration runner (every statement tolerates what it would create).

CREATE TABLE IF NOT EXISTS "{prefix}accounts" ("id" UUID PRIMARY KEY NOT NULL DEFAULT gen_random_uuid(), "tenant_id" UUID NOT NULL DEFAULT gen_random_uuid(), "company_id" UUID NOT NULL DEFAULT gen_random_uuid(), "code" VARCHAR(20) NOT NULL DEFAULT '', "name" VARCHAR(200) NOT NULL DEFAULT '', "type" VARCHAR(20) NOT NULL DEFAULT '', "currency" VARCHAR(3) NOT NULL DEFAULT '', "is_active" BOOLEAN NOT NULL DEFAULT true, "is_system" BOOLEAN NOT NULL DEFAULT false, "created_at" TIMESTAMPTZ NOT NULL DEFAULT current_timestamp);
CREATE INDEX IF NOT EXISTS {prefix}accounts_tenant_id ON "{prefix}accounts" USING btree ("tenant_id");
CREATE INDEX IF NOT EXISTS {prefix}accounts_company_id ON "{prefix}accounts" USING btree ("company_id");
CREATE TABLE IF NOT EXISTS "{prefix}transactions" ("id" UUID PRIMARY KEY NOT NULL DEFAULT gen_random_uuid(), "tenant_id" UUID NOT NULL DEFAULT gen_random_uuid(), "company_id" UUID NOT NULL DEFAULT gen_random_uuid(), "entry_date" DATE NOT NULL DEFAULT CURRENT_DATE, "description" TEXT NOT NULL DEFAULT '', "currency" VARCHAR(3) NOT NULL DEFAULT '', "source" VARCHAR(20) NOT NULL DEFAULT 'manual', "source_id" UUID DEFAULT null, "reverses_id" UUID UNIQUE DEFAULT null, "created_by" VARCHAR(100) DEFAULT null, "created_at" TIMESTAMPTZ NOT NULL DEFAULT current_timestamp);
CREATE INDEX IF NOT EXISTS {prefix}transactions_tenant_id ON "{prefix}transactions" USING btree ("tenant_id");
CREATE INDEX IF NOT EXISTS {prefix}transactions_company_id ON "{prefix}transactions" USING btree ("company_id");
CREATE TABLE IF NOT EXISTS "{prefix}transaction_lines" ("id" UUID PRIMARY KEY NOT NULL DEFAULT gen_random_uuid(), "transaction_id" UUID REFERENCES "{prefix}transactions" ("id") ON DELETE RESTRICT ON UPDATE CASCADE DEFAULT null, "account_id" UUID REFERENCES "{prefix}accounts" ("id") ON DELETE RESTRICT ON UPDATE CASCADE DEFAULT null, "line_no" INTEGER NOT NULL DEFAULT 0, "debit" NUMERIC(18, 4) NOT NULL DEFAULT 0, "credit" NUMERIC(18, 4) NOT NULL DEFAULT 0, "description" TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS {prefix}transaction_lines_transaction_id ON "{prefix}transaction_lines" USING btree ("transaction_id");
CREATE INDEX IF NOT EXISTS {prefix}transaction_lines_account_id ON "{prefix}transaction_lines" USING btree ("account_id");
CREATE TABLE IF NOT EXISTS "{prefix}invoice_sequences" ("company_id" UUID PRIMARY KEY NOT NULL DEFAULT gen_random_uuid(), "last_number" INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS "{prefix}invoices" ("id" UUID PRIMARY KEY NOT NULL DEFAULT gen_random_uuid(), "tenant_id" UUID NOT NULL DEFAULT gen_random_uuid(), "company_id" UUID NOT NULL DEFAULT gen_random_uuid(), "number" VARCHAR(60) NOT NULL DEFAULT '', "customer" VARCHAR(200) NOT NULL DEFAULT '', "status" VARCHAR(20) NOT NULL DEFAULT 'open', "currency" VARCHAR(3) NOT NULL DEFAULT '', "tax_rate" NUMERIC(9, 6) NOT NULL DEFAULT 0, "subtotal" NUMERIC(18, 4) NOT NULL DEFAULT 0, "tax" NUMERIC(18, 4) NOT NULL DEFAULT 0, "total" NUMERIC(18, 4) NOT NULL DEFAULT 0, "amount_paid" NUMERIC(18, 4) NOT NULL DEFAULT 0, "issue_date" DATE NOT NULL DEFAULT CURRENT_DATE, "due_date" DATE NOT NULL DEFAULT CURRENT_DATE, "transaction_id" UUID REFERENCES "{prefix}transactions" ("id") ON DELETE RESTRICT ON UPDATE CASCADE DEFAULT null, "created_by" VARCHAR(100) DEFAULT null, "created_at" TIMESTAMPTZ NOT NULL DEFAULT current_timestamp);
CREATE INDEX IF NOT EXISTS {prefix}invoices_tenant_id ON "{prefix}invoices" USING btree ("tenant_id");
CREATE INDEX IF NOT EXISTS {prefix}invoices_company_id ON "{prefix}invoices" USING btree ("company_id");
CREATE TABLE IF NOT EXISTS "{prefix}invoice_lines" ("id" UUID PRIMARY KEY NOT NULL DEFAULT gen_random_uuid(), "invoice_id" UUID REFERENCES "{prefix}invoices" ("id") ON DELETE CASCADE ON UPDATE CASCADE DEFAULT null, "line_no" INTEGER NOT NULL DEFAULT 0, "description" TEXT NOT NULL DEFAULT '', "quantity" NUMERIC(18, 4) NOT NULL DEFAULT 1, "unit_price" NUMERIC(18, 4) NOT NULL DEFAULT 0, "amount" NUMERIC(18, 4) NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS {prefix}invoice_lines_invoice_id ON "{prefix}invoice_lines" USING btree ("invoice_id");
CREATE TABLE IF NOT EXISTS "{prefix}payments" ("id" UUID PRIMARY KEY NOT NULL DEFAULT gen_random_uuid(), "tenant_id" UUID NOT NULL DEFAULT gen_random_uuid(), "company_id" UUID NOT NULL DEFAULT gen_random_uuid(), "invoice_id" UUID REFERENCES "{prefix}invoices" ("id") ON DELETE RESTRICT ON UPDATE CASCADE DEFAULT null, "amount" NUMERIC(18, 4) NOT NULL DEFAULT 0, "currency" VARCHAR(3) NOT NULL DEFAULT '', "paid_on" DATE NOT NULL DEFAULT CURRENT_DATE, "method" VARCHAR(40) NOT NULL DEFAULT 'bank_transfer', "reference" VARCHAR(200) NOT NULL DEFAULT '', "transaction_id" UUID REFERENCES "{prefix}transactions" ("id") ON DELETE RESTRICT ON UPDATE CASCADE DEFAULT null, "created_by" VARCHAR(100) DEFAULT null, "created_at" TIMESTAMPTZ NOT NULL DEFAULT current_timestamp);
CREATE INDEX IF NOT EXISTS {prefix}payments_tenant_id ON "{prefix}payments" USING btree ("tenant_id");
CREATE INDEX IF NOT EXISTS {prefix}payments_company_id ON "{prefix}payments" USING btree ("company_id");
CREATE INDEX IF NOT EXISTS {prefix}payments_invoice_id ON "{prefix}payments" USING btree ("invoice_id");

DO $$ BEGIN
    ALTER TABLE "{prefix}accounts" ADD CONSTRAINT "{prefix}accounts_company_code" UNIQUE (company_id, code);
EXCEPTION WHEN duplicate_table OR duplicate_object THEN NULL; END $$;
DO $$ BEGIN
    ALTER TABLE "{prefix}accounts" ADD CONSTRAINT "{prefix}accounts_type"
        CHECK (type IN ('asset', 'liability', 'equity', 'revenue', 'expense'));
EXCEPTION WHEN duplicate_table OR duplicate_object THEN NULL; END $$;
DO $$ BEGIN
    ALTER TABLE "{prefix}invoices" ADD CONSTRAINT "{prefix}invoices_company_number" UNIQUE (company_id, number);
EXCEPTION WHEN duplicate_table OR duplicate_object THEN NULL; END $$;
DO $$ BEGIN
    ALTER TABLE "{prefix}invoices" ADD CONSTRAINT "{prefix}invoices_paid_range"
        CHECK (amount_paid >= 0 AND amount_paid <= total);
EXCEPTION WHEN duplicate_table OR duplicate_object THEN NULL; END $$;
DO $$ BEGIN
    ALTER TABLE "{prefix}transaction_lines" ADD CONSTRAINT "{prefix}lines_one_side"
        CHECK (debit >= 0 AND credit >= 0 AND (debit = 0) <> (credit = 0));
EXCEPTION WHEN duplicate_table OR duplicate_object THEN NULL; END $$;
DO $$ BEGIN
    ALTER TABLE "{prefix}payments" ADD CONSTRAINT "{prefix}payments_positive" CHECK (amount > 0);
EXCEPTION WHEN duplicate_table OR duplicate_object THEN NULL; END $$;
CREATE INDEX IF NOT EXISTS "{prefix}transactions_company_date" ON "{prefix}transactions" (company_id, entry_date);

CREATE OR REPLACE FUNCTION "{prefix}refuse_change"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'posted journal entries are immutable' USING ERRCODE = 'P0001';
END $$;
CREATE OR REPLACE TRIGGER "{prefix}transactions_immutable" BEFORE UPDATE OR DELETE ON "{prefix}transactions"
    FOR EACH ROW EXECUTE FUNCTION "{prefix}refuse_change"();
CREATE OR REPLACE TRIGGER "{prefix}lines_immutable" BEFORE UPDATE OR DELETE ON "{prefix}transaction_lines"
    FOR EACH ROW EXECUTE FUNCTION "{prefix}refuse_change"();
