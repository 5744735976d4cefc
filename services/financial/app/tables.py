"""Piccolo tables of the financial module, named with the configured prefix.

The prefix (`SCHEMA_PREFIX`, default `financial_`) and the engine are chosen at start-up, so
the classes are built per app by `make_tables`: two apps in one process (tests, or core and a
module) never share an engine.
"""

from dataclasses import dataclass
from decimal import Decimal

from piccolo.columns import (
    UUID,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.engine.postgres import PostgresEngine
from piccolo.table import Table, create_table_class

MONEY = (18, 4)


def _money() -> Numeric:
    return Numeric(digits=MONEY, default=Decimal("0"))


@dataclass(frozen=True, slots=True)
class Tables:
    """The table classes bound to one engine, plus their SQL names for raw queries."""

    prefix: str
    account: type[Table]
    transaction: type[Table]
    transaction_line: type[Table]
    invoice: type[Table]
    invoice_line: type[Table]
    payment: type[Table]
    invoice_sequence: type[Table]

    def name(self, short: str) -> str:
        """SQL name of a table, e.g. `name("accounts")` -> `financial_accounts`."""
        return f"{self.prefix}{short}"

    def all(self) -> list[type[Table]]:
        """In creation order (referenced tables first)."""
        return [
            self.account, self.transaction, self.transaction_line, self.invoice_sequence,
            self.invoice, self.invoice_line, self.payment,
        ]


def make_tables(prefix: str, engine: PostgresEngine) -> Tables:
    """Build the table classes for `prefix`, bound to `engine`."""

    def table(cls_name: str, short: str, **columns: object) -> type[Table]:
        return create_table_class(
            cls_name,
            class_kwargs={"tablename": f"{prefix}{short}", "db": engine},
            class_members=columns,
        )

    account = table(
        "Account", "accounts",
        id=UUID(primary_key=True),
        tenant_id=UUID(index=True),
        company_id=UUID(index=True),
        code=Varchar(length=20),
        name=Varchar(length=200),
        type=Varchar(length=20),
        currency=Varchar(length=3),
        is_active=Boolean(default=True),
        is_system=Boolean(default=False),
        created_at=Timestamptz(),
    )
    transaction = table(
        "JournalEntry", "transactions",
        id=UUID(primary_key=True),
        tenant_id=UUID(index=True),
        company_id=UUID(index=True),
        entry_date=Date(),
        description=Text(),
        currency=Varchar(length=3),
        source=Varchar(length=20, default="manual"),
        source_id=UUID(null=True, default=None),
        reverses_id=UUID(null=True, default=None, unique=True),
        created_by=Varchar(length=100, null=True, default=None),
        created_at=Timestamptz(),
    )
    transaction_line = table(
        "JournalLine", "transaction_lines",
        id=UUID(primary_key=True),
        transaction_id=ForeignKey(transaction, on_delete=OnDelete.restrict, index=True),
        account_id=ForeignKey(account, on_delete=OnDelete.restrict, index=True),
        line_no=Integer(),
        debit=_money(),
        credit=_money(),
        description=Text(default=""),
    )
    invoice_sequence = table(
        "InvoiceSequence", "invoice_sequences",
        company_id=UUID(primary_key=True),
        last_number=Integer(default=0),
    )
    invoice = table(
        "Invoice", "invoices",
        id=UUID(primary_key=True),
        tenant_id=UUID(index=True),
        company_id=UUID(index=True),
        number=Varchar(length=60),
        customer=Varchar(length=200),
        status=Varchar(length=20, default="open"),
        currency=Varchar(length=3),
        tax_rate=Numeric(digits=(9, 6), default=Decimal("0")),
        subtotal=_money(),
        tax=_money(),
        total=_money(),
        amount_paid=_money(),
        issue_date=Date(),
        due_date=Date(),
        transaction_id=ForeignKey(transaction, on_delete=OnDelete.restrict, null=True),
        created_by=Varchar(length=100, null=True, default=None),
        created_at=Timestamptz(),
    )
    invoice_line = table(
        "InvoiceLine", "invoice_lines",
        id=UUID(primary_key=True),
        invoice_id=ForeignKey(invoice, on_delete=OnDelete.cascade, index=True),
        line_no=Integer(),
        description=Text(default=""),
        quantity=Numeric(digits=MONEY, default=Decimal("1")),
        unit_price=_money(),
        amount=_money(),
        sku=Varchar(length=64, null=True, default=None),
    )
    payment = table(
        "Payment", "payments",
        id=UUID(primary_key=True),
        tenant_id=UUID(index=True),
        company_id=UUID(index=True),
        invoice_id=ForeignKey(invoice, on_delete=OnDelete.restrict, index=True),
        amount=_money(),
        currency=Varchar(length=3),
        paid_on=Date(),
        method=Varchar(length=40, default="bank_transfer"),
        reference=Varchar(length=200, default=""),
        transaction_id=ForeignKey(transaction, on_delete=OnDelete.restrict, null=True),
        created_by=Varchar(length=100, null=True, default=None),
        created_at=Timestamptz(),
    )
    return Tables(prefix, account, transaction, transaction_line, invoice, invoice_line, payment, invoice_sequence)
