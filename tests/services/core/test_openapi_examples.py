"""Every request example in core's OpenAPI document for the bus admin API works against a real core
(issue 12: the replay example named events its subscription does not consume, so it could only 409)."""

from typing import Any

from broker import Reject, Router
from contracts.core import CompanyCreated
from tests.services.core.conftest import Harness, Tenant


def bus_admin_examples(schema: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """(path, summary, example body) of every documented request body under /api/v1/admin/bus."""
    found = []
    for path, item in schema["paths"].items():
        if not path.startswith("/api/v1/admin/bus"):
            continue
        for operation in item.values():
            content = (operation.get("requestBody") or {}).get("content", {})
            for media in content.values():  # Litestar puts Body(examples=...) in the schema's `examples`
                for i, value in enumerate(media.get("schema", {}).get("examples") or []):
                    found.append((path, f"example {i}", value))
                for name, example in (media.get("examples") or {}).items():
                    found.append((path, name, example["value"]))
    return found


async def test_every_bus_admin_example_is_accepted(core: Harness, root: dict[str, str], acme: Tenant) -> None:
    router = Router()

    @router.on("core.company.created")
    async def create_default_accounts(event: CompanyCreated) -> None:
        """Stands in for financial's handler of the same name (the examples name its subscription); it
        dead-letters every event, so the dead-letter examples have letters to act on."""
        raise Reject(f"no chart of accounts for {event.name}")

    await core.drain(service="financial", router=router)
    schema = (await core.client.get("/schema/openapi.json")).json()
    examples = bus_admin_examples(schema)
    assert {path for path, _, _ in examples} >= {"/api/v1/admin/bus/replays", "/api/v1/admin/bus/dead-letters/redrive",
                                                 "/api/v1/admin/bus/dead-letters/purge"}
    for path, summary, body in examples:
        r = await core.client.post(path, json=body, headers=root)
        assert 200 <= r.status_code < 300, (path, summary, r.status_code, r.text)
