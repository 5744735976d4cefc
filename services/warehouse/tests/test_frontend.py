"""The module's browser files: served where the manifest says, each page reachable from the entry,
written for the gateway's CSP, and built only on the helpers core serves at /ui/kit.js."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

import modulekit
from services.warehouse.app.main import FRONTEND

if TYPE_CHECKING:  # fixtures come from conftest.py; nothing is imported from it at run time
    from services.warehouse.tests.conftest import Harness

MANIFEST = FRONTEND.parent / "manifest.json"
KIT = Path(modulekit.__file__).parent / "ui" / "kit.js"


async def test_the_entry_and_every_menu_page_are_served(shared: Harness) -> None:
    manifest = json.loads(MANIFEST.read_text())
    module = await shared.client.get(manifest["frontend"]["entry"])
    assert module.status_code == 200 and "javascript" in module.headers["content-type"]
    pages = re.findall(r"from '\./([\w/-]+\.js)'", module.text)
    assert len(pages) == 4
    for page in pages:
        assert (await shared.client.get(f"/modules/warehouse/{page}")).status_code == 200, page
    routes = {item["path"].split("/")[1] for item in manifest["frontend"]["menu"]}
    assert routes == {"stock", "movements", "reservations", "low-stock"}
    table = re.search(r"const PAGES = \{(.*?)\};", module.text, re.S)  # render() looks each route up there
    assert table is not None, "module.js has no PAGES table"
    assert set(re.findall(r"'?([\w-]+)'?: render\w+", table.group(1))) == routes


async def test_every_api_path_the_pages_call_answers(shared: Harness) -> None:
    tenant_id, company_id, _ = await shared.company()
    headers = shared.auth(tenant_id, company_id)
    paths = set()
    for path in FRONTEND.rglob("*.js"):
        paths |= set(re.findall(r"`\$\{API\}(/[\w/-]+)`", path.read_text()))
        paths |= set(re.findall(r"'(/api/v1/warehouse/[\w/-]+)'", path.read_text()))
    assert paths
    for path in sorted(paths):
        url = path if path.startswith("/api") else "/api/v1/warehouse" + path
        response = await shared.client.get(url, params={"company_id": str(company_id)}, headers=headers)
        assert response.status_code == 200, (url, response.text)


def test_no_code_the_csp_would_block_and_only_shared_helpers() -> None:
    exported = set(re.findall(r"export (?:async )?(?:function|const) (\w+)", KIT.read_text()))
    for path in FRONTEND.rglob("*.js"):
        text = path.read_text()
        for banned in ("innerHTML", "eval(", "new Function", "setAttribute('style'", "style="):
            assert banned not in text, f"{path.name}: {banned}"
        for names in re.findall(r"import \{([^}]*)\} from '/ui/kit\.js'", text):
            wanted = {n.strip() for n in names.split(",") if n.strip()}
            assert wanted <= exported, (path.name, wanted - exported)
