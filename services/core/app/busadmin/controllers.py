"""`/api/v1/admin/bus`: list, show, stats, replay and dead letters over HTTP.

The same functions as the `buildify-events` CLI (broker.ops). Platform administrators act on
the whole bus; tenant administrators only on their tenant's events (the tenant scope is
passed down, so a selection cannot reach outside it). Every replay, redrive and purge is
written to the bus's audit table with the acting user.
"""

import asyncio
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar
from uuid import UUID

import msgspec
from aiormq.exceptions import AMQPError
from litestar import Controller, get, post
from litestar.openapi.spec import Example
from litestar.params import Body, Parameter

from broker import BusUnavailable, InvalidPattern, ops
from broker.rabbit.deadletters import DeadQueue, dead_queues
from contracts.ids import uuid7
from modulekit import errors as kit
from services.core.app.auth.principal import Principal
from services.core.app.context import CoreContext
from services.core.app.errors import Conflict, CoreProblem, Forbidden, Invalid, NotFound, Waiting

T = TypeVar("T")


class Unavailable(CoreProblem, kit.Unavailable):
    """The bus database does not answer."""

    code = "bus-unavailable"


# What one tenant administrator may ask of the shared bus (platform administrators are not capped).
TENANT_MAX_RATE = 50.0  # events per second of one tenant's replay
TENANT_MAX_REPLAYS = 1  # replays of one tenant running at once (in this core process)
MAX_RATE = 100_000.0


class ReplayRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Which events to deliver again, and to which subscription (or every matching one).

    `rate` is events per second; tenant administrators get at most 50 (and 50 when they omit it).
    """

    selection: ops.EventFilter = msgspec.field(default_factory=ops.EventFilter)
    subscription: str | None = None
    all_subscriptions: bool = False
    dry_run: bool = False
    rate: Annotated[float, msgspec.Meta(gt=0, le=MAX_RATE)] | None = None


class ReplayLimited(Waiting, kit.TooManyRequests):
    """Your tenant already has a replay running; wait for it to finish."""

    code = "replay-running"

    def __init__(self, detail: str | None = None, *, retry_after: int = 10) -> None:
        super().__init__(detail, retry_after=retry_after)


_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s'\"<>]+", re.IGNORECASE)


def redact(text: str | None) -> str | None:
    """An error for a tenant administrator: its first line, URLs (callback addresses) replaced."""
    if text is None:
        return None
    first = text.strip().splitlines()[0] if text.strip() else ""
    return _URL.sub("<url hidden>", first)[:500]


def for_tenant(letter: ops.DeadLetter) -> ops.DeadLetter:
    """A dead letter without its traceback and with its error redacted (platform internals)."""
    return msgspec.structs.replace(
        letter, error=redact(letter.error), reason=redact(letter.reason) or "",
        traceback="hidden: tracebacks are shown to platform administrators" if letter.traceback else None,
    )


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
        raise Invalid(f"`pattern`: {exc}", field="pattern") from exc
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
        tenant = scope_of(principal)
        detail = await call(ops.show_event(core.bus.pool, event_id, tenant=tenant))
        if tenant is None:
            return detail
        return msgspec.structs.replace(
            detail, dead_letters=[for_tenant(d) for d in detail.dead_letters],
            deliveries=[msgspec.structs.replace(d, last_error=redact(d.last_error), locked_by=None)
                        for d in detail.deliveries],
        )

    @get("/stats", summary="Rates, backlog per subscription, oldest pending age, retries, dead letters")
    async def stats(
        self, principal: Principal, core: CoreContext, window: float = Parameter(default=300.0, gt=0, le=86400)
    ) -> ops.Stats:
        snapshot = await call(ops.stats(core.bus.pool, window=window, tenant=scope_of(principal)))
        if scope_of(principal) is None:
            ops.export_gauges(snapshot)
        return snapshot

    @get("/queues", summary="RabbitMQ transport: each subscription's queue (messages ready, consumers) and "
         "dead-letter queue (messages, open letters); empty on the Postgres transport")
    async def queues(self, principal: Principal, core: CoreContext) -> list[DeadQueue]:
        if scope_of(principal) is not None:
            raise Forbidden("Queue depths cover every tenant: they are shown to platform administrators.")
        settings = core.bus.settings
        if settings.transport != "rabbitmq" or not settings.amqp_url:
            return []
        try:  # the same function as `buildify-events dlq queues`
            return await call(dead_queues(core.bus.pool, settings.amqp_url, settings.amqp_prefix))
        except (OSError, AMQPError) as exc:
            raise Unavailable(f"RabbitMQ does not answer: {type(exc).__name__}") from exc

    @post("/replays", status_code=202, summary="Deliver past events again (dry_run lists what would be sent)")
    async def replay(
        self,
        data: Annotated[ReplayRequest, Body(examples=[Example(
            summary="Company events into financial's default-accounts handler again, as a dry run",
            value={"selection": {"pattern": "core.company.created"},
                   "subscription": "financial.create_default_accounts", "dry_run": True},
        )])],
        principal: Principal,
        core: CoreContext,
    ) -> ops.ReplayResult | ReplayStarted:
        tenant = scope_of(principal)
        if not data.subscription and not data.all_subscriptions:
            raise Invalid("Name a `subscription`, or set `all_subscriptions` to replay into every matching one.",
                          field="subscription")
        rate = data.rate
        if tenant is not None:
            if rate is not None and rate > TENANT_MAX_RATE:
                raise Invalid(f"`rate`: at most {TENANT_MAX_RATE:g} events per second for a tenant's replay.",
                              field="rate")
            rate = rate or TENANT_MAX_RATE
        kwargs: dict[str, Any] = {"actor": actor_of(principal), "subscription": data.subscription,
                                  "rate": rate, "tenant": tenant}
        if data.dry_run:
            return await call(ops.replay(core.bus.pool, data.selection, dry_run=True, **kwargs))
        key = str(tenant) if tenant is not None else None
        if key is not None and core.replays.get(key, 0) >= TENANT_MAX_REPLAYS:
            raise ReplayLimited(f"Your tenant already has {TENANT_MAX_REPLAYS} replay(s) running; follow it in "
                                "GET /api/v1/admin/bus/audit and start the next one when it has finished.")
        run_id = uuid7()
        # Validate the selection at once (bad pattern, unknown subscription, nothing to send)...
        await call(ops.replay(core.bus.pool, data.selection, dry_run=True, **kwargs))
        # ...then send in the background: a long replay must not hold the HTTP request.
        task = asyncio.create_task(ops.replay(core.bus.pool, data.selection, run_id=run_id, **kwargs))
        core.background.add(task)
        if key is not None:
            core.replays[key] = core.replays.get(key, 0) + 1

        def finished(done: "asyncio.Task[Any]") -> None:
            core.background.discard(done)
            if key is not None:
                core.replays[key] = max(0, core.replays.get(key, 1) - 1)

        task.add_done_callback(finished)
        return ReplayStarted(run_id=run_id)

    @get("/dead-letters", summary="Open dead letters, newest first")
    async def dead_letters(
        self, principal: Principal, core: CoreContext, subscription: str | None = None, error: str | None = None,
        pattern: str | None = None, include_redriven: bool = False,
        limit: int = Parameter(default=50, ge=1, le=1000),
    ) -> list[ops.DeadLetter]:
        selection = ops.DeadLetterFilter(subscription=subscription, error=error, pattern=pattern,
                                         include_redriven=include_redriven)
        tenant = scope_of(principal)
        letters = await call(ops.dlq_list(core.bus.pool, selection, limit=limit, tenant=tenant))
        return letters if tenant is None else [for_tenant(d) for d in letters]

    @get("/dead-letters/{letter_id:int}", summary="One dead letter with its error (and, for platform "
         "administrators, its traceback)")
    async def dead_letter(self, letter_id: int, principal: Principal, core: CoreContext) -> ops.DeadLetter:
        tenant = scope_of(principal)
        letter = await call(ops.dlq_show(core.bus.pool, letter_id, tenant=tenant))
        return letter if tenant is None else for_tenant(letter)

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
            summary="One subscription's letters about company events, as a dry run",
            value={"selection": {"subscription": "financial.create_default_accounts",
                                 "pattern": "core.company.created"}, "dry_run": True},
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
                          field="selection")
        return await call(action(core.bus.pool, data.selection, actor=actor_of(principal), dry_run=data.dry_run,
                                 tenant=scope_of(principal)))
