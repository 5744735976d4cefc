"""HTTP plumbing every service shares, framework-free (plain ASGI): request ids that become
event correlation ids, and the Prometheus `/metrics` endpoint."""

import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import structlog
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from broker import context
from contracts.ids import uuid7

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

REQUEST_ID_HEADER = b"x-request-id"


def correlation_for(request_id: str) -> uuid.UUID:
    """The correlation id for a request id: itself when it is a UUID, else a stable UUIDv5 of it."""
    try:
        return uuid.UUID(request_id)
    except ValueError:
        return uuid.uuid5(uuid.NAMESPACE_URL, request_id)


class RequestIdMiddleware:
    """Take `X-Request-ID` (the gateway or client may set it) or make one; publish it as the
    correlation id of every event the request publishes, bind it to the log context, and echo
    it in the answer, so one id follows a request from the gateway to the last handler."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw = dict(scope.get("headers") or []).get(REQUEST_ID_HEADER, b"").decode(errors="replace").strip()
        request_id = raw[:128] or str(uuid7())
        correlation = correlation_for(request_id)
        token = context.correlation_id.set(correlation)
        structlog.contextvars.bind_contextvars(request_id=request_id, correlation_id=str(correlation))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                headers.append((REQUEST_ID_HEADER, request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            context.correlation_id.reset(token)
            structlog.contextvars.unbind_contextvars("request_id", "correlation_id")


def request_id_middleware(app: ASGIApp) -> ASGIApp:
    """Factory form for frameworks that take a callable (Litestar's `middleware=[...]`)."""
    return RequestIdMiddleware(app)


async def metrics_app(scope: Scope, receive: Receive, send: Send) -> None:
    """ASGI endpoint serving this process's Prometheus metrics."""
    body = generate_latest()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", CONTENT_TYPE_LATEST.encode())]})
    await send({"type": "http.response.body", "body": body})
