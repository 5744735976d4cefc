"""Events used only by the bus tests."""

from uuid import UUID

from contracts.envelope import Event


class Pinged(Event, frozen=True, kw_only=True, tag="test.ping.sent"):
    n: int


class Ponged(Event, frozen=True, kw_only=True, tag="test.pong.sent"):
    n: int


class OrderLine(Event, frozen=True, kw_only=True, tag="test.order.line_added"):
    order_id: UUID
    n: int
