"""Dead letters: look at them, send them again (redrive) or discard them (purge).

Redrive and purge are written to `event_ops_audit` in the same transaction as the change;
dry runs change nothing at all.
"""

import inspect
from typing import Literal
from uuid import UUID

import msgspec

from broker.ops.connection import Db, connection
from broker.ops.errors import EmptySelection, UnknownDeadLetter
from broker.ops.results import DeadLetter, DlqActionResult, letter_of
from broker.ops.selections import DeadLetterFilter, describe_letters, scoped
from broker.ops.subscriptions import subscription_ids
from broker.queries import query


async def dlq_list(
    db: Db, selection: DeadLetterFilter | None = None, *, limit: int = 50, tenant: UUID | None = None
) -> list[DeadLetter]:
    """Dead letters, newest first: what failed, where, after how many attempts and why."""
    selection = scoped(selection or DeadLetterFilter(), tenant)
    async with connection(db) as conn:
        rows = await conn.fetch(query("dlq_list"), *selection.params(), limit)
    return [letter_of(r) for r in rows]


async def dlq_show(db: Db, letter_id: int, *, tenant: UUID | None = None) -> DeadLetter:
    """One dead letter with its traceback summary."""
    async with connection(db) as conn:
        row = await conn.fetchrow(query("dlq_get"), letter_id)
    if row is None or (tenant is not None and row["tenant_id"] != tenant):
        raise UnknownDeadLetter(f"no dead letter {letter_id}")
    return letter_of(row)


class DeadLetterOperation:
    """A redrive or purge of the dead letters a `DeadLetterFilter` chooses (`dlq_redrive`, `dlq_purge`).

    Both run the same way: a dry run counts and samples what would be touched and changes
    nothing; a real run acts and writes its audit row in one statement, and an empty selection
    rolls back and raises `EmptySelection`.
    """

    def __init__(self, action: Literal["redrive", "purge"], doc: str) -> None:
        self.action = action
        self.__doc__ = inspect.cleandoc(doc)

    async def __call__(
        self,
        db: Db,
        selection: DeadLetterFilter,
        *,
        actor: str,
        dry_run: bool = False,
        tenant: UUID | None = None,
        sample_size: int = 20,
    ) -> DlqActionResult:
        action = self.action
        selection = scoped(selection, tenant)
        if action == "redrive":
            selection = msgspec.structs.replace(selection, include_redriven=False)
        params = selection.params()
        async with connection(db) as conn:
            if selection.subscription is not None and await conn.fetchrow(
                query("subscription_by_name"), selection.subscription
            ) is None:
                await subscription_ids(conn, selection.subscription)  # raises with the known names
            if dry_run:
                count = int(await conn.fetchval(query("dlq_count"), *params))
                if count == 0:
                    raise EmptySelection(f"no dead letter matches {describe_letters(selection)}")
                rows = await conn.fetch(query("dlq_list"), *params, sample_size)
                return DlqActionResult(action=action, dry_run=True, selection=selection, letters=count,
                                       deliveries=count, sample=[letter_of(r) for r in rows])
            async with conn.transaction():
                row = await conn.fetchrow(query(f"dlq_{action}"), *params, actor, tenant,
                                          msgspec.json.encode(selection).decode(), action)
                assert row is not None
                if row["letters"] == 0:
                    # Roll back the empty audit row: nothing happened, and the caller is told so.
                    raise EmptySelection(f"no dead letter matches {describe_letters(selection)}")
        return DlqActionResult(action=action, dry_run=False, selection=selection, letters=row["letters"],
                               deliveries=row["deliveries"], audit_id=row["audit_id"])


dlq_redrive = DeadLetterOperation(
    "redrive",
    """Send the chosen open dead letters to their subscriptions again, once more from attempt 1.

    The event keeps its original id (handlers' inboxes recognise it), the letter records who
    redrove it and when, and the audit table gets one row. Usually run after the fix for
    the failure has been deployed.
    """,
)

dlq_purge = DeadLetterOperation(
    "purge",
    """Discard the chosen dead letters (and their dead deliveries) for good.

    For letters nobody will ever redrive, e.g. events of a deleted test tenant; once gone,
    cleanup lets their events expire. Recorded in the audit table.
    """,
)
