"""A request id becomes the correlation id of the events a request publishes, and of their consequences."""

from uuid import UUID

import httpx
from litestar import Litestar, post

from broker import BusSettings, Delivery, EventBus, Router
from broker.testing import run_until_idle
from modulekit.http import metrics_app, request_id_middleware
from tests.broker.events import Pinged, Ponged

QUIET = BusSettings(workers=0, relay=False, cleanup_interval=0)


async def test_request_id_flows_into_events_and_their_follow_ups(database_url):
    bus = EventBus(service="api", dsn=database_url, settings=QUIET)
    router = Router()
    seen: list[Delivery] = []

    @router.on("test.ping.sent")
    async def answer(event: Pinged, ctx: Delivery) -> None:
        await bus.publish(None, Ponged(n=event.n))  # plain publish: ids come from the delivery's context

    @router.on("test.pong.sent")
    async def record(event: Ponged, ctx: Delivery) -> None:
        seen.append(ctx)

    bus.include_router(router)
    await bus.open()

    @post("/pings")
    async def create_ping() -> dict[str, str]:
        event_id = await bus.publish(None, Pinged(n=1))
        return {"event_id": str(event_id)}

    from litestar.handlers import asgi

    metrics = asgi("/metrics", is_mount=True, copy_scope=True)(metrics_app)
    app = Litestar([create_ping, metrics], middleware=[request_id_middleware])
    request_id = "0191d7a4-0000-7000-8000-00000000abcd"
    try:
        # the app runs on this test's event loop, where the bus's pool lives
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
            response = await client.post("/pings", headers={"X-Request-ID": request_id})
            assert response.headers["x-request-id"] == request_id
            ping_id = UUID(response.json()["event_id"])
            generated = await client.post("/pings")
            assert generated.headers["x-request-id"]  # one is made when the client sends none
            await run_until_idle(bus)
            scraped = await client.get("/metrics")
            assert "bus_deliveries_succeeded_total" in scraped.text
        pong = next(ctx for ctx in seen if ctx.correlation_id == UUID(request_id))
        assert pong.causation_id == ping_id
    finally:
        await bus.close()


async def test_handler_logs_are_json_lines_with_the_correlation_id(database_url, capsys):
    import json

    import structlog

    from broker import Retry
    from modulekit.logs import configure

    configure("logs-test", json=True)
    try:
        bus = EventBus(service="logs", dsn=database_url, settings=QUIET)
        router = Router()

        @router.on("test.ping.sent")
        async def flaky(event: Pinged, ctx: Delivery) -> None:
            structlog.get_logger("handler").info("booking ping", n=event.n)
            if ctx.attempt == 1:
                raise Retry("not yet", after=0.01)

        bus.include_router(router)
        await bus.open()
        correlation = UUID("0191d7a4-0000-7000-8000-0000000000aa")
        try:
            event_id = await bus.publish(None, Pinged(n=9), correlation_id=correlation)
            await run_until_idle(bus)
        finally:
            await bus.close()
        lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
        booked = [x for x in lines if x["event"] == "booking ping"]
        assert len(booked) == 2 and all(x["correlation_id"] == str(correlation) for x in booked)
        assert all(x["event_id"] == str(event_id) and x["service"] == "logs-test" for x in booked)
        retry = next(x for x in lines if x["event"] == "delivery failed, will retry")
        assert retry["subscription"] == "logs.flaky" and retry["correlation_id"] == str(correlation)
    finally:
        structlog.reset_defaults()
