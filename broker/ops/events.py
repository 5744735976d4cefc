"""Reading the events log: the newest events, one event in full, and a live tail."""

from datetime import datetime
from uuid import UUID

from broker.ops.connection import Db, connection, json_of
from broker.ops.errors import UnknownEvent
from broker.ops.results import DeliveryInfo, EventDetail, EventSummary, TailedEvent, letter_of, summary_of
from broker.ops.selections import EventFilter, scoped
from broker.queries import query
from broker.upcasting import UpcastError, Upcasters


async def list_events(
    db: Db, selection: EventFilter | None = None, *, limit: int = 50, tenant: UUID | None = None
) -> list[EventSummary]:
    """The newest events matching `selection`, with delivery counts, newest first.

    The counts (pending / done / dead per event) are what tells an operator at a glance
    whether an event reached everyone it should have.
    """
    selection = scoped(selection or EventFilter(), tenant)
    async with connection(db) as conn:
        rows = await conn.fetch(query("list_events"), *selection.params(), limit)
    return [summary_of(row) for row in rows]


async def show_event(
    db: Db, event_id: UUID, *, upcasters: Upcasters | None = None, tenant: UUID | None = None
) -> EventDetail:
    """One event with its deliveries, attempts, last errors and dead letters.

    With `upcasters`, also the payload as today's handlers would decode it, which is the
    first thing to check when an old event dead-letters with a decoding error.
    """
    async with connection(db) as conn:
        row = await conn.fetchrow(query("get_event"), event_id)
        if row is None or (tenant is not None and row["tenant_id"] != tenant):
            raise UnknownEvent(f"no event {event_id} (it may have passed its retention)")
        deliveries = await conn.fetch(query("event_deliveries"), event_id)
        letters = await conn.fetch(query("event_dead_letters"), event_id)
    payload = json_of(row["payload"])
    current_version = current_payload = upcast_error = None
    if upcasters is not None:
        try:
            current_version, text = upcasters.upcast_json(row["event_type"], row["version"], row["payload"])
            current_payload = json_of(text)
        except UpcastError as exc:
            upcast_error = str(exc)
    return EventDetail(
        event=summary_of(row),
        expires_at=row["expires_at"],
        payload=payload,
        current_version=current_version,
        current_payload=current_payload,
        upcast_error=upcast_error,
        deliveries=[DeliveryInfo(**dict(d)) for d in deliveries],
        dead_letters=[letter_of(d) for d in letters],
    )


async def tail_events(
    db: Db,
    since: datetime,
    selection: EventFilter | None = None,
    *,
    limit: int = 500,
    tenant: UUID | None = None,
) -> list[TailedEvent]:
    """Events recorded at or after `since`, oldest first, for a live view.

    The caller keeps a set of ids already shown and asks again from a little before the
    newest one it saw, because an event may commit after a later-recorded one.
    """
    selection = scoped(selection or EventFilter(), tenant)
    async with connection(db) as conn:
        rows = await conn.fetch(query("tail_events"), *selection.params(), since, limit)
    return [TailedEvent(event=summary_of(row), payload=json_of(row["payload"])) for row in rows]
