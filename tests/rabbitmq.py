"""The RabbitMQ the tests use: `BUILDIFY_TEST_AMQP_URL` if set (CI here: the machine's broker on
5672), else a throwaway container started with testcontainers when a Docker daemon answers (once
per test session, stopped at exit), else none — and the reason the RabbitMQ tests are skipped."""

import asyncio
import atexit
import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from uuid import uuid4

IMAGE = "rabbitmq:3.13-alpine"  # quorum queues with at-least-once dead-lettering need 3.10+


@functools.cache
def rabbitmq() -> tuple[str, str]:
    """(AMQP URL, "") or ("", why there is none); a container starts only on the first call."""
    url = os.environ.get("BUILDIFY_TEST_AMQP_URL", "")
    if url:
        return url, ""
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.docker_client import DockerClient
    from testcontainers.core.waiting_utils import wait_for_logs

    try:
        DockerClient()
    except Exception as exc:
        return "", f"BUILDIFY_TEST_AMQP_URL is not set and no Docker daemon answers ({type(exc).__name__})"
    container = DockerContainer(IMAGE).with_exposed_ports(5672)
    container.start()
    atexit.register(container.stop)
    wait_for_logs(container, "Server startup complete", timeout=120)
    return f"amqp://guest:guest@{container.get_container_host_ip()}:{container.get_exposed_port(5672)}/", ""


def amqp_url_or_skip() -> str:
    """The tests' RabbitMQ URL; without one, skip the calling test with the reason."""
    import pytest

    url, why_not = rabbitmq()
    if not url:
        pytest.skip(why_not)
    return url


def amqp_url() -> str:
    """The URL of the tests' RabbitMQ (call after `rabbitmq()` said there is one)."""
    return rabbitmq()[0]


@contextmanager
def services_on_rabbitmq(database_url: str, via: str = "") -> Iterator[dict[str, str]]:
    """The `BUS_*` variables that put services on the tests' RabbitMQ (reached at `via`, a proxy's
    URL, if given) under an exchange and queues of their own (a unique prefix); when done, what
    they bound (recorded in `database_url`) is deleted. Call after `rabbitmq()` said there is one."""
    prefix = f"test{uuid4().hex[:12]}"
    try:
        yield {"BUS_TRANSPORT": "rabbitmq", "BUS_AMQP_URL": via or amqp_url(), "BUS_AMQP_PREFIX": prefix}
    finally:
        asyncio.run(_delete_bound(database_url, prefix))


async def _delete_bound(database_url: str, prefix: str) -> None:
    import asyncpg

    from broker.rabbit import delete_topology

    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch("SELECT subscription FROM bus_rabbit_bindings WHERE prefix = $1", prefix)
    finally:
        await conn.close()
    await delete_topology(amqp_url(), prefix, sorted(row["subscription"] for row in rows))
