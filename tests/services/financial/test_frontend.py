"""The module's browser files: served at /modules/financial/ and written for the gateway's CSP."""

import json
import re
from pathlib import Path

from litestar import Litestar
from litestar.testing import TestClient

from services.financial.app.frontend import FRONTEND, frontend_files

MANIFEST = Path(__file__).resolve().parents[3] / "services" / "financial" / "manifest.json"


def test_the_entry_and_its_pages_are_served_where_the_manifest_says() -> None:
    entry = json.loads(MANIFEST.read_text())["frontend"]["entry"]
    with TestClient(Litestar(route_handlers=[frontend_files])) as client:
        module = client.get(entry)
        assert module.status_code == 200 and "javascript" in module.headers["content-type"]
        for page in re.findall(r"from '\./([\w/]+\.js)'", module.text):
            assert client.get(f"/modules/financial/{page}").status_code == 200, page
        assert client.get("/modules/financial/financial.css").headers["content-type"].startswith("text/css")


def test_no_code_the_csp_would_block() -> None:
    for path in FRONTEND.rglob("*.js"):
        text = path.read_text()
        for banned in ("innerHTML", "eval(", "new Function", "setAttribute('style'", "style="):
            assert banned not in text, f"{path.name}: {banned}"
