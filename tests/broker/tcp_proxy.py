"""A TCP proxy a test can switch off and on: "RabbitMQ is down" or "the connection dropped",
for this test's own connections only, without touching the shared broker."""

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar
from urllib.parse import urlsplit

T = TypeVar("T")


class TcpProxy:
    """Forwards 127.0.0.1:<port> to `target`; `down()` drops every connection and refuses new ones."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()
        self.accepted = 0

    async def up(self) -> "TcpProxy":
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port, reuse_address=True)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def down(self) -> None:
        """Refuse new connections and cut the open ones (as a broker restart or a network cut would)."""
        if self.server is not None:
            self.server.close()
            self.server = None
        await self.drop()

    async def drop(self) -> None:
        """Cut the open connections, keep accepting new ones."""
        writers, self.writers = self.writers, set()
        for writer in writers:
            transport = writer.transport
            with contextlib.suppress(Exception):
                transport.abort()

    def url(self, user: str = "guest", password: str = "guest", vhost: str = "/") -> str:
        path = "" if vhost == "/" else vhost
        return f"amqp://{user}:{password}@127.0.0.1:{self.port}/{path}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self.writers.update({writer, up_writer})
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            self.writers.discard(writer)
            writer.transport.abort()


class ProxyThread:
    """A `TcpProxy` on an event loop of its own thread, for code without one (a browser test's
    platform, whose services reach RabbitMQ through it)."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.proxy = TcpProxy(target_host, target_port)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="tcp-proxy", daemon=True)

    def __enter__(self) -> "ProxyThread":
        self.thread.start()
        self._call(self.proxy.up())
        return self

    def __exit__(self, *exc: object) -> None:
        self._call(self.proxy.down())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    def down(self) -> None:
        """Refuse new connections and cut the open ones."""
        self._call(self.proxy.down())

    def in_front_of(self, url: str) -> str:
        """`url` (whose host and port this proxy forwards to) reached through the proxy instead."""
        parts = urlsplit(url)
        credentials, _, _ = parts.netloc.rpartition("@")
        return parts._replace(netloc=f"{credentials}@" * bool(credentials) + f"127.0.0.1:{self.proxy.port}").geturl()

    def _call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(10)
