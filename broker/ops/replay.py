"""Replay: deliver past events again, to one subscription or to every active one they match.

All statements are set-based: each batch moves events into the delivery tables with one
`INSERT ... SELECT ... ON CONFLICT DO UPDATE`, and the run's checkpoint moves in that same
statement, so a replay cut short resumes after the last batch that committed.
"""

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg
import msgspec

from broker.ops.connection import Db, connection
from broker.ops.errors import EmptySelection, OpsError, UnknownReplay
from broker.ops.results import ReplayProgress, ReplayResult, ReplaySample
from broker.ops.selections import EventFilter, describe, scoped
from broker.ops.subscriptions import names_of, subscription_ids
from broker.queries import query
from contracts.ids import uuid7


class ReplayRequest(msgspec.Struct, frozen=True, kw_only=True):
    """What to replay and how: one value a caller builds, logs or sends (see `replay` for
    what each field means)."""

    actor: str
    selection: EventFilter = msgspec.field(default_factory=EventFilter)
    subscription: str | None = None
    dry_run: bool = False
    batch_size: int = 5000
    rate: float | None = None
    resume: UUID | None = None
    run_id: UUID | None = None
    tenant: UUID | None = None
    sample_size: int = 20


@dataclass(slots=True)
class _Run:
    """A replay run as it stands: its frozen selection, targets and checkpoint."""

    run_id: UUID
    selection: EventFilter
    ids: list[int]
    names: list[str]
    upper: datetime
    position: UUID | None
    events: int
    deliveries: int
    total_events: int


async def replay(
    db: Db,
    selection: EventFilter | None = None,
    *,
    actor: str,
    subscription: str | None = None,
    dry_run: bool = False,
    batch_size: int = 5000,
    rate: float | None = None,
    resume: UUID | None = None,
    run_id: UUID | None = None,
    tenant: UUID | None = None,
    sample_size: int = 20,
    on_progress: Callable[[ReplayProgress], None] | None = None,
) -> ReplayResult:
    """Deliver past events again: to one subscription, or to every active one they match.

    Each chosen (subscription, event) delivery is created, or reset to pending with no
    attempts if it exists; the event keeps its id, so handlers that record it in their inbox
    skip what they already applied. The selection is frozen at the start (events recorded
    later are not part of it) and each batch commits with its checkpoint, so an interrupted
    replay continues with `resume=<run id>` exactly where it stopped.

    Args:
        selection: which events (pattern, time range, tenant, company, source, ids).
        actor: who asked, for the audit table.
        subscription: the one subscription to deliver to; None for all matching active ones.
        dry_run: count and sample what would be sent, change nothing.
        batch_size: events per statement and transaction.
        rate: at most this many events per second (None: as fast as the database goes).
        resume: the run id of an interrupted replay; `selection` and `subscription` are then
            taken from that run.
        run_id: the id to give a new run (so a caller can show it before the first batch).
        tenant: the tenant the caller is limited to (None: platform operator).
        on_progress: called after each batch, for a progress bar.

    Raises:
        InvalidPattern, UnknownSubscription, InactiveSubscription, EmptySelection,
        OutOfScope, UnknownReplay.
    """
    request = ReplayRequest(
        actor=actor, selection=selection or EventFilter(), subscription=subscription, dry_run=dry_run,
        batch_size=batch_size, rate=rate, resume=resume, run_id=run_id, tenant=tenant, sample_size=sample_size,
    )
    return await run_replay(db, request, on_progress=on_progress)


async def run_replay(
    db: Db, request: ReplayRequest, *, on_progress: Callable[[ReplayProgress], None] | None = None
) -> ReplayResult:
    """`replay`, given its parameters as one `ReplayRequest`."""
    started = time.perf_counter()
    async with connection(db) as conn:
        run = await (_resumed(conn, request) if request.resume is not None else _new(conn, request))
        if request.dry_run:
            return await _dry_run(conn, run, request, started)
        if request.resume is None:
            await conn.execute(query("start_replay"), run.run_id, request.actor, request.tenant,
                               msgspec.json.encode(run.selection).decode(), run.ids, run.upper)
        else:
            await conn.execute(query("resume_replay"), run.run_id)
    status = "interrupted"
    try:
        await _run_batches(db, run, request, on_progress)
        status = "done"
    finally:
        async with connection(db) as conn:
            await conn.execute(query("finish_replay"), run.run_id, status)
    return ReplayResult(
        run_id=run.run_id, dry_run=False, selection=run.selection, subscriptions=run.names, upper_bound=run.upper,
        events=run.events, deliveries=run.deliveries, status=status, seconds=time.perf_counter() - started,
    )


async def _new(conn: asyncpg.Connection, request: ReplayRequest) -> _Run:
    """A new run: the selection scoped to the caller's tenant, frozen at now."""
    selection = scoped(request.selection, request.tenant)
    selection.params()  # validates the pattern before anything else
    ids, _ = await subscription_ids(conn, request.subscription)
    upper = await conn.fetchval("SELECT now()")
    run = _Run(run_id=request.run_id or uuid7(), selection=selection, ids=ids, names=await names_of(conn, ids),
               upper=upper, position=None, events=0, deliveries=0, total_events=0)
    run.total_events = await _count(conn, run)
    if run.total_events == 0:
        raise EmptySelection(f"no event matches {describe(selection)} for {', '.join(run.names)}")
    return run


async def _resumed(conn: asyncpg.Connection, request: ReplayRequest) -> _Run:
    """An interrupted run, from its checkpoint: selection and targets are the run's own."""
    row = await conn.fetchrow(query("get_replay"), request.resume)
    if row is None or (request.tenant is not None and row["tenant_id"] != request.tenant):
        raise UnknownReplay(f"no replay run {request.resume}")
    if row["status"] == "done":
        raise OpsError(f"replay {request.resume} already finished ({row['deliveries']} deliveries)")
    ids = list(row["subscription_ids"])
    run = _Run(run_id=row["id"], selection=msgspec.json.decode(row["selection"], type=EventFilter), ids=ids,
               names=await names_of(conn, ids), upper=row["upper_bound"], position=row["position_id"],
               events=int(row["events"]), deliveries=int(row["deliveries"]), total_events=0)
    # The count is the whole selection; the run already did part of it.
    run.total_events = max(await _count(conn, run), run.events)
    return run


async def _count(conn: asyncpg.Connection, run: _Run) -> int:
    if not run.ids:
        raise EmptySelection("there is no active subscription to replay into")
    count = await conn.fetchrow(query("replay_count"), *run.selection.params(), run.ids, run.upper)
    assert count is not None
    return int(count["events"])


async def _dry_run(conn: asyncpg.Connection, run: _Run, request: ReplayRequest, started: float) -> ReplayResult:
    params = run.selection.params()
    count = await conn.fetchrow(query("replay_count"), *params, run.ids, run.upper)
    rows = await conn.fetch(query("replay_sample"), *params, run.ids, run.upper, request.sample_size)
    assert count is not None
    return ReplayResult(
        run_id=None, dry_run=True, selection=run.selection, subscriptions=run.names, upper_bound=run.upper,
        events=int(count["events"]), deliveries=int(count["deliveries"]), status="dry-run",
        seconds=time.perf_counter() - started,
        sample=[ReplaySample(id=r["id"], type=r["event_type"], tenant_id=r["tenant_id"],
                             recorded_at=r["recorded_at"], subscriptions=list(r["subscriptions"]))
                for r in rows],
    )


async def _run_batches(
    db: Db, run: _Run, request: ReplayRequest, on_progress: Callable[[ReplayProgress], None] | None
) -> None:
    """Move batches until the selection is done, each with its checkpoint, at `rate` at most."""
    rate = request.rate
    # Under a rate limit, batches hold a tenth of a second's worth, so the pace stays even.
    step = max(1, min(request.batch_size, int(rate / 10))) if rate else request.batch_size
    params = run.selection.params()
    while True:
        batch_started = time.perf_counter()
        async with connection(db) as conn, conn.transaction():
            await conn.execute(query("replay_plan"))
            row = await conn.fetchrow(
                query("replay_batch"), *params, run.position or UUID(int=0), run.upper, step, run.ids,
                f"replay:{request.actor}", run.run_id,
            )
            assert row is not None
        picked = int(row["events"])
        if picked:
            run.position = row["position_id"]
        run.events += picked
        run.deliveries += int(row["deliveries"])
        if on_progress is not None:
            on_progress(ReplayProgress(run_id=run.run_id, events=run.events, deliveries=run.deliveries,
                                       total_events=run.total_events))
        if picked < step:
            return
        if rate:
            pause = picked / rate - (time.perf_counter() - batch_started)
            if pause > 0:
                await asyncio.sleep(pause)
