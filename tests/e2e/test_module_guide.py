"""docs/modules.md followed for a throwaway module, as a newcomer would: `buildify module new`, the
platform run with it, the module registered and enabled for the demo tenant, an event reaching its
handler through the bus (seen through its API), and its page in the browser through the gateway.
The module is scaffolded into a copy of the tree, so the repository's services/ stays untouched."""

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.chromium import CHROMIUM, run, sign_in
from tests.e2e.platform import RunningPlatform, free_port, login, running_platform
from tests.packaging.scaffolding import copy_of_the_tree
from tests.waiting import wait_until_sync

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(400)]

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (Python) is not installed")
expect = sync_api.expect
NAME = "guidebook"
BUILDIFY = Path(sys.executable).parent / "buildify"  # `.venv/bin/buildify`, as the guide calls it


@pytest.fixture
def platform(database_url: str, tmp_path: Path) -> Iterator[RunningPlatform]:
    """The platform run from a copy of the tree holding the module the guide's command scaffolded."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: `apt-get install -y chromium` (Debian's build; no `playwright install`)")
    tree = copy_of_the_tree(tmp_path / "tree")
    new = subprocess.run([str(BUILDIFY), "module", "new", NAME, "--port", str(free_port()),
                          "--display-name", "Guide book", "--services", str(tree / "services")],
                         cwd=tree, capture_output=True, text=True, timeout=60)
    assert new.returncode == 0, new.stdout + new.stderr
    assert (tree / "services" / NAME / "manifest.json").is_file()
    with running_platform(database_url, tmp_path / "platform", root=tree) as running:
        yield running


def test_a_scaffolded_module_runs_registers_gets_events_and_shows_its_page(platform: RunningPlatform) -> None:
    with httpx.Client(base_url=platform.gateway, timeout=10) as http:
        auth = login(http, platform)
        # registered from its manifest at start-up, routed by the gateway
        modules = http.get("/api/v1/modules", headers=auth)
        assert modules.status_code == 200, modules.text
        listed: Any = modules.json()
        names = [m["name"] for m in (listed["items"] if isinstance(listed, dict) else listed)]
        assert NAME in names
        assert http.get(f"/health/{NAME}").status_code == 200

        # enable it for the demo tenant (the guide's lifecycle, step 2)
        tenant_id = http.get("/api/v1/me", headers=auth).json()["tenant"]["id"]
        enabled = http.put(f"/api/v1/tenants/{tenant_id}/modules/{NAME}",
                           json={"is_enabled": True, "configuration": {"first_item_name": "Read the guide"}},
                           headers=auth)
        assert enabled.status_code == 200, enabled.text

        # core announces a new company on the bus; the module's handler gives it its first item
        created = http.post("/api/v1/companies", json={"name": "Acme Touren", "tenant_id": tenant_id}, headers=auth)
        assert created.status_code == 201, created.text
        company_id = created.json()["id"]
        auth = login(http, platform)  # a token that lists the new company

        def first_item() -> list[dict[str, Any]] | None:
            r = http.get(f"/api/v1/{NAME}/items", params={"company_id": company_id}, headers=auth)
            return r.json() if r.status_code == 200 and r.json() else None

        items = wait_until_sync(first_item, timeout=30, interval=0.3, what="the handler's first item")
        assert [i["name"] for i in items] == ["Read the guide"]

    def its_page(page: "sync_api.Page") -> None:
        sign_in(page, platform.gateway, platform.admin_email, platform.admin_password)
        picker = page.locator("#company-select")
        expect(picker).to_be_visible()
        picker.select_option(label="Acme Touren")
        page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Items").click()
        expect(page.get_by_role("heading", name="Guide book")).to_be_visible()
        expect(page.locator("main table")).to_contain_text("Read the guide")

    run(its_page)
