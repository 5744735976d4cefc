"""`python -m broker.demo`: watch events being handled, retried and dead-lettered.

Runs against DATABASE_URL if set, else an embedded PostgreSQL in .buildify/pg, in a database
of its own (`buildify_demo`, recreated each run).
"""

import asyncio
import os
import random
from decimal import Decimal
from pathlib import Path
from uuid import uuid4

import asyncpg
from rich.console import Console
from rich.table import Table

from broker import BusSettings, Delivery, EventBus, Reject, RetryPolicy, Router, embedded
from contracts.core import CompanyCreated
from contracts.envelope import Event
from contracts.financial import InvoiceCreated

console = Console()
router = Router()


class LegacyCompanyCreated(Event, frozen=True, kw_only=True, tag="core.company.created"):
    """A publisher with an outdated contract: `name` is a number, which no handler can decode."""

    company_id: int
    name: int


@router.on("core.company.created", priority=8)
async def create_default_accounts(event: CompanyCreated, ctx: Delivery) -> None:
    console.print(f"[green]handled[/]  {ctx.event_type:<28} {event.name!r}: default chart of accounts created")


@router.on("financial.invoice.*", retry=RetryPolicy(max_attempts=4, initial_delay=0.2, max_delay=1))
async def send_invoice_email(event: InvoiceCreated, ctx: Delivery) -> None:
    if ctx.attempt < 3:
        console.print(
            f"[yellow]failed[/]   {ctx.event_type:<28} {event.number}: mail server busy (attempt {ctx.attempt})"
        )
        raise ConnectionError("mail server busy")
    console.print(f"[green]handled[/]  {ctx.event_type:<28} {event.number}: e-mailed on attempt {ctx.attempt}")


@router.on("financial.invoice.created", priority=3)
async def export_to_tax_office(event: InvoiceCreated, ctx: Delivery) -> None:
    if event.total > 10_000:
        console.print(f"[red]rejected[/] {ctx.event_type:<28} {event.number}: over the export limit")
        raise Reject("invoices over 10,000 need a manual export")
    console.print(f"[green]handled[/]  {ctx.event_type:<28} {event.number}: exported")


async def _database() -> str:
    server = os.environ.get("DATABASE_URL") or embedded.start(Path(".buildify") / "pg")
    admin = await asyncpg.connect(server)
    try:
        await admin.execute("DROP DATABASE IF EXISTS buildify_demo WITH (FORCE)")
        await admin.execute("CREATE DATABASE buildify_demo")
    finally:
        await admin.close()
    from urllib.parse import urlsplit, urlunsplit

    return urlunsplit(urlsplit(server)._replace(path="/buildify_demo"))


async def main() -> None:
    url = await _database()
    console.print(f"[bold]Buildify bus demo[/] on {url}")
    bus = EventBus(service="demo", dsn=url, settings=BusSettings(poll_interval=0.2, cleanup_interval=0))
    bus.include_router(router)
    await bus.start()
    tenant, company = uuid4(), uuid4()
    try:
        async with bus.pool.acquire() as conn, conn.transaction():
            await bus.publish(conn, CompanyCreated(company_id=company, tenant_id=tenant, name="Acme GmbH"),
                              tenant_id=tenant, company_id=company)
        for n, total in enumerate([1190, 25_000], start=1):
            invoice = InvoiceCreated(
                invoice_id=uuid4(), company_id=company, number=f"DE-INV-{n:06d}", customer="Globex",
                subtotal=Decimal(total), tax=Decimal(0), total=Decimal(total), currency="EUR",
            )
            await bus.publish(None, invoice, tenant_id=tenant, company_id=company)
        await bus.publish(None, LegacyCompanyCreated(company_id=random.randint(1, 99), name=42), tenant_id=tenant)
        await asyncio.sleep(3)
        await _summary(bus)
    finally:
        await bus.close()


async def _summary(bus: EventBus) -> None:
    async with bus.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT s.name, d.status, d.attempts, left(coalesce(d.last_error, ''), 70) AS error "
            "FROM event_deliveries d JOIN event_subscriptions s ON s.id = d.subscription_id ORDER BY d.id"
        )
    table = Table("subscription", "status", "attempts", "last error", title="deliveries")
    for row in rows:
        table.add_row(row["name"], row["status"], str(row["attempts"]), row["error"])
    console.print(table)
    console.print("Inspect them with: [bold]buildify-events dlq list --database-url[/] " + (bus.dsn or ""))


if __name__ == "__main__":
    asyncio.run(main())
