"""`/api/v1/admin/bus`: list, show, stats, replay and dead letters over HTTP.

The same functions as the `buildify-events` CLI (broker.ops). Platform administrators act on
the whole bus; tenant administrators only on their tenant's events (the tenant scope is
passed down, so a selection cannot reach outside it). Every replay, redrive and purge is
written to the bus's audit table with the acting user.
"""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar
from uuid import UUID

import msgspec
from litestar import Controller, get, post
from litestar.openapi.spec import Example
from litestar.params import Body, Parameter

from broker import BusUnavailable, InvalidPattern, ops
from contracts.ids import uuid7
from services.core.app.auth.principal import Principal
from services.core.app.context import CoreContext
from services.core.app.errors import Conflict, CoreError, Forbidden, Invalid, NotFound

T = TypeVar("T")


class Unavailable(CoreError):
    """The bus database does not answer."""

    status_code = 503
    code = "bus_unavailable"


class ReplayRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Which events to deliver again, and to which subscription (or every matching one)."""

    selection: ops.EventFilter = msgspec.field(default_factory=ops.EventFilter)
    subscription: str | None = None
    all_subscriptions: bool = False
    dry_run: bool = False
    rate: float | None = None


class ReplayStarted(msgspec.Struct, frozen=True, kw_only=True):
    run_id: UUID
    status: str = "started"
    detail: str = "The replay runs in the background; follow it in GET /api/v1/admin/bus/audit."


class DeadLetterAction(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    selection: ops.DeadLetterFilter = msgspec.field(default_factory=ops.DeadLetterFilter)
    all: bool = False
    dry_run: bool = False


def scope_of(principal: Principal) -> UUID | None:
    """None (the whole bus) for platform administrators, the tenant for tenant administrators."""
    if principal.platform_admin:
        return None
    if principal.tenant_admin and principal.tenant_id is not None:
        return principal.tenant_id
    raise Forbidden("Operating the bus needs `platform.bus.admin` or a tenant administrator.")


def actor_of(principal: Principal) -> str:
    return f"user:{principal.email}"


async def call(operation: Awaitable[T]) -> T:
    """Run an ops call, turning its errors into HTTP answers a person can act on."""
    try:
        return await operation
    except (ops.UnknownSubscription, ops.UnknownEvent, ops.UnknownDeadLetter, ops.UnknownReplay) as exc:
        raise NotFound(str(exc)) from exc
    except InvalidPattern as exc:
        raise Invalid(f"`pattern`: {exc}", extra={"field": "pattern"}) from exc
    except ops.OutOfScope as exc:
        raise Forbidden(str(exc)) from exc
    except (ops.EmptySelection, ops.InactiveSubscription) as exc:
        raise Conflict(str(exc)) from exc
    except (BusUnavailable, ops.SchemaMissing) as exc:
        raise Unavailable(str(exc)) from exc


class BusAdminController(Controller):
    path = "/api/v1/admin/bus"
    tags = ["bus admin"]

    @get("/events", summary="Events, newest first, with delivery counts")
    async def list_events(
        self, principal: Principal, core: CoreContext,
        pattern: str | None = None, since: datetime | None = None, until: datetime | None = None,
        tenant_id: UUID | None = None, company_id: UUID | None = None, source: str | None = None,
        limit: int = Parameter(default=50, ge=1, le=1000),
    ) -> list[ops.EventSummary]:
        selection = ops.EventFilter(pattern=pattern, since=since, until=until, tenant_id=tenant_id,
                                    company_id=company_id, source=source)
        return await call(ops.list_events(core.bus.pool, selection, limit=limit, tenant=scope_of(principal)))

    @get("/events/{event_id:uuid}", summary="One event: envelope, payload, deliveries, attempts, errors")
    async def show_event(self, event_id: UUID, principal: Principal, core: CoreContext) -> ops.EventDetail:
        return await call(ops.show_event(core.bus.pool, event_id, tenant=scope_of(principal)))

    @get("/stats", summary="Rates, backlog per subscription, oldest pending age, retries, dead letters")
    async def stats(
        self, principal: Principal, core: CoreContext, window: float = Parameter(default=300.0, gt=0, le=86400)
    ) -> ops.Stats:
        snapshot = await call(ops.stats(core.bus.pool, window=window, tenant=scope_of(principal)))
        if scope_of(principal) is None:
            ops.export_gauges(snapshot)
        return snapshot

    @post("/replays", status_code=202, summary="Deliver past events again (dry_run lists what would be sent)")
    async def replay(
        self,
        data: Annotated[ReplayRequest, Body(examples=[Example(
            summary="Yesterday's invoices into one subscription, as a dry run",
            value={"selection": {"pattern": "financial.invoice.*", "since": "2026-11-25T00:00:00Z",
                                 "until": "2026-11-26T00:00:00Z"},
                   "subscription": "financial.create_default_accounts", "dry_run": True},
        )])],
        principal: Principal,
        core: CoreContext,
    ) -> Any:
        tenant = scope_of(principal)
        if not data.subscription and not data.all_subscriptions:
            raise Invalid("Name a `subscription`, or set `all_subscriptions` to replay into every matching one.",
                          extra={"field": "subscription"})
        kwargs: dict[str, Any] = {"actor": actor_of(principal), "subscription": data.subscription,
                                  "rate": data.rate, "tenant": tenant}
        if data.dry_run:
            return await call(ops.replay(core.bus.pool, data.selection, dry_run=True, **kwargs))
        run_id = uuid7()
        # Validate the selection at once (bad pattern, unknown subscription, nothing to send)...
        await call(ops.replay(core.bus.pool, data.selection, dry_run=True, **kwargs))
        # ...then send in the background: a long replay must not hold the HTTP request.
        task = asyncio.create_task(ops.replay(core.bus.pool, data.selection, run_id=run_id, **kwargs))
        core.background.add(task)
        task.add_done_callback(core.background.discard)
        return ReplayStarted(run_id=run_id)

    @get("/dead-letters", summary="Open dead letters, newest first")
    async def dead_letters(
        self, principal: Principal, core: CoreContext, subscription: str | None = None, error: str | None = None,
        pattern: str | None = None, include_redriven: bool = False,
        limit: int = Parameter(default=50, ge=1, le=1000),
    ) -> list[ops.DeadLetter]:
        selection = ops.DeadLetterFilter(subscription=subscription, error=error, pattern=pattern,
                                         include_redriven=include_redriven)
        return await call(ops.dlq_list(core.bus.pool, selection, limit=limit, tenant=scope_of(principal)))

    @get("/dead-letters/{letter_id:int}", summary="One dead letter with its error and traceback")
    async def dead_letter(self, letter_id: int, principal: Principal, core: CoreContext) -> ops.DeadLetter:
        return await call(ops.dlq_show(core.bus.pool, letter_id, tenant=scope_of(principal)))

    @post("/dead-letters/redrive", status_code=200, summary="Send chosen dead letters again (same event id)")
    async def redrive(
        self,
        data: Annotated[DeadLetterAction, Body(examples=[Example(
            summary="One subscription's letters after the fix is deployed",
            value={"selection": {"subscription": "financial.create_default_accounts"}, "dry_run": True},
        )])],
        principal: Principal,
        core: CoreContext,
    ) -> ops.DlqActionResult:
        return await self._act(ops.dlq_redrive, data, principal, core)

    @post("/dead-letters/purge", status_code=200, summary="Discard chosen dead letters for good")
    async def purge(
        self,
        data: Annotated[DeadLetterAction, Body(examples=[Example(
            summary="Letters of a retired test tenant's events",
            value={"selection": {"tenant_id": "0191d7a4-0000-7000-8000-000000000001"}, "dry_run": True},
        )])],
        principal: Principal,
        core: CoreContext,
    ) -> ops.DlqActionResult:
        return await self._act(ops.dlq_purge, data, principal, core)

    @get("/audit", summary="Every replay, redrive and purge: who, when, what, how many")
    async def audit(
        self, principal: Principal, core: CoreContext, limit: int = Parameter(default=50, ge=1, le=1000)
    ) -> list[ops.AuditEntry]:
        return await call(ops.list_audit(core.bus.pool, limit=limit, tenant=scope_of(principal)))

    @staticmethod
    async def _act(
        action: Callable[..., Awaitable[ops.DlqActionResult]], data: DeadLetterAction, principal: Principal,
        core: CoreContext,
    ) -> ops.DlqActionResult:
        """Redrive or purge: refuse an empty selection unless `all`, scope to the caller's tenant."""
        if data.selection.is_empty and not data.all:
            raise Invalid("Choose dead letters (subscription, error, pattern or ids), or set `all` to act on all.",
                          extra={"field": "selection"})
        return await call(action(core.bus.pool, data.selection, actor=actor_of(principal), dry_run=data.dry_run,
                                 tenant=scope_of(principal)))
