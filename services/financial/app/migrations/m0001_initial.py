"""Accounts, journal (entries + lines), invoices (+ lines, numbering), payments."""

import asyncpg

from services.financial.app.tables import Tables


async def apply(conn: asyncpg.Connection, tables: Tables) -> None:
    """Create the tables, their keys, and the triggers that keep posted entries immutable."""
    for table in tables.all():
        for statement in table.create_table(if_not_exists=True).ddl:
            await conn.execute(statement)
    p = tables.prefix
    await conn.execute(f'''
        ALTER TABLE "{p}accounts" ADD CONSTRAINT "{p}accounts_company_code" UNIQUE (company_id, code);
        ALTER TABLE "{p}accounts" ADD CONSTRAINT "{p}accounts_type"
            CHECK (type IN ('asset', 'liability', 'equity', 'revenue', 'expense'));
        ALTER TABLE "{p}invoices" ADD CONSTRAINT "{p}invoices_company_number" UNIQUE (company_id, number);
        ALTER TABLE "{p}invoices" ADD CONSTRAINT "{p}invoices_paid_range"
            CHECK (amount_paid >= 0 AND amount_paid <= total);
        ALTER TABLE "{p}transaction_lines" ADD CONSTRAINT "{p}lines_one_side"
            CHECK (debit >= 0 AND credit >= 0 AND (debit = 0) <> (credit = 0));
        ALTER TABLE "{p}payments" ADD CONSTRAINT "{p}payments_positive" CHECK (amount > 0);
        CREATE INDEX IF NOT EXISTS "{p}transactions_company_date" ON "{p}transactions" (company_id, entry_date);

        CREATE OR REPLACE FUNCTION "{p}refuse_change"() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'posted journal entries are immutable' USING ERRCODE = 'P0001';
        END $$;
        CREATE TRIGGER "{p}transactions_immutable" BEFORE UPDATE OR DELETE ON "{p}transactions"
            FOR EACH ROW EXECUTE FUNCTION "{p}refuse_change"();
        CREATE TRIGGER "{p}lines_immutable" BEFORE UPDATE OR DELETE ON "{p}transaction_lines"
            FOR EACH ROW EXECUTE FUNCTION "{p}refuse_change"();
    ''')
