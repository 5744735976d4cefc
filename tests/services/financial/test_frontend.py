"""The module's browser files: served at /modules/financial/ and written for the gateway's CSP."""

import json
import re
from pathlib import Path

from litestar import Litestar
from litestar.testing import TestClient

from modulekit.frontend import UI_KIT, module_frontend, ui_kit_files
from services.financial.app.main import FRONTEND

MANIFEST = Path(__file__).resolve().parents[3] / "services" / "financial" / "manifest.json"


def test_the_entry_and_its_pages_are_served_where_the_manifest_says() -> None:
    entry = json.loads(MANIFEST.read_text())["frontend"]["entry"]
    with TestClient(Litestar(route_handlers=[module_frontend("financial", FRONTEND)])) as client:
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


def test_pages_import_the_shared_helpers_core_serves() -> None:
    """No copy of the helpers in the module: every name a page imports from /ui/kit.js is exported there."""
    assert not (FRONTEND / "ui.js").exists()
    exported = set(re.findall(r"export (?:async )?(?:function|const) (\w+)", (UI_KIT / "kit.js").read_text()))
    with TestClient(Litestar(route_handlers=[ui_kit_files])) as client:
        served = client.get("/ui/kit.js")
        assert served.status_code == 200 and "javascript" in served.headers["content-type"]
    for path in FRONTEND.rglob("*.js"):
        for names in re.findall(r"import \{([^}]*)\} from '/ui/kit\.js'", path.read_text()):
            wanted = {n.strip() for n in names.split(",") if n.strip()}
            assert wanted <= exported, (path.name, wanted - exported)
