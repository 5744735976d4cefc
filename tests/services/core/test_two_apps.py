"""Two core apps in one process each use their own database (issue 12: one global engine allowed one)."""

import asyncio

from litestar.testing import AsyncTestClient

from services.core.app.admin import create_superuser
from services.core.app.main import create_app
from services.core.app.settings import Settings
from tests.services.core.conftest import FAST_BUS, GATEWAY_KEY, MODULE_KEYS, Harness


async def test_two_core_apps_in_one_process_keep_their_own_data(database_url: str, second_database_url: str) -> None:
    cores = []
    for url in (database_url, second_database_url):
        await create_superuser(url, "root@platform.example", "password123")
        cores.append(create_app(Settings(database_url=url, module_api_keys=MODULE_KEYS, bus=FAST_BUS,
                                         access_token_ttl=600, gateway_config_key=GATEWAY_KEY)))
    async with AsyncTestClient(app=cores[0]) as one, AsyncTestClient(app=cores[1]) as two:
        first, second = Harness(one, cores[0], database_url), Harness(two, cores[1], second_database_url)
        roots = await asyncio.gather(first.login("root@platform.example"), second.login("root@platform.example"))
        made = await asyncio.gather(*(
            h.client.post("/api/v1/tenants", json={"name": name, "slug": name.lower()}, headers=root)
            for h, root, name in ((first, roots[0], "Acme"), (second, roots[1], "Globex"))
        ))
        assert [r.status_code for r in made] == [201, 201], [r.text for r in made]
        seen = [
            sorted(t["slug"] for t in (await h.client.get("/api/v1/tenants", headers=root)).json())
            for h, root in ((first, roots[0]), (second, roots[1]))
        ]
    assert seen == [["acme"], ["globex"]]
