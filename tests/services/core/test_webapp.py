"""The browser app's files as core serves them (the browser test drives them through the gateway)."""

import re

from litestar import Litestar
from litestar.testing import TestClient

from services.core.app.webapp import FRONTEND, WEB_APP


def test_the_shell_is_served_at_the_root_and_its_files_under_app() -> None:
    with TestClient(Litestar(route_handlers=WEB_APP)) as client:
        index = client.get("/")
        assert index.status_code == 200 and index.headers["content-type"].startswith("text/html")
        assert '<script type="module" src="/app/main.js"></script>' in index.text
        script = client.get("/app/main.js")
        assert script.status_code == 200 and "javascript" in script.headers["content-type"]
        assert client.get("/app/style.css").headers["content-type"].startswith("text/css")
        assert client.get("/app/missing.js").status_code == 404


def test_the_shell_keeps_to_the_csp() -> None:
    """No inline script or style anywhere: the gateway's CSP allows 'self' only."""
    html = (FRONTEND / "index.html").read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline <script>"
    assert "<style" not in html and "style=" not in html
    for path in sorted(FRONTEND.rglob("*.js")):
        script = path.read_text()
        assert "innerHTML" not in script and "eval(" not in script and "setAttribute('style'" not in script, path


def test_the_shell_is_split_into_small_es_modules_all_served() -> None:
    """main.js only starts the shell; its pieces and the admin console are served from subfolders."""
    files = sorted(p for folder in ("shell", "admin") for p in (FRONTEND / folder).rglob("*.js"))
    assert {p.name for p in files} >= {"shell.js", "api.js", "loader.js", "login.js", "module.js"}
    assert len((FRONTEND / "main.js").read_text().splitlines()) < 40
    with TestClient(Litestar(route_handlers=WEB_APP)) as client:
        for path in files:
            answer = client.get(f"/app/{path.relative_to(FRONTEND).as_posix()}")
            assert answer.status_code == 200 and "javascript" in answer.headers["content-type"], path
    for path in files:
        assert len(path.read_text().splitlines()) <= 400, path


def test_the_bus_pages_are_served_from_a_subfolder_and_keep_to_the_csp() -> None:
    """Core's built-in "Operations" module lives in frontend/bus/ (pages in bus/pages/)."""
    files = sorted((FRONTEND / "bus").rglob("*.js"))
    assert FRONTEND / "bus" / "module.js" in files
    with TestClient(Litestar(route_handlers=WEB_APP)) as client:
        for path in files:
            answer = client.get(f"/app/{path.relative_to(FRONTEND).as_posix()}")
            assert answer.status_code == 200 and "javascript" in answer.headers["content-type"], path
        assert client.get("/app/bus/bus.css").headers["content-type"].startswith("text/css")
    for path in files:
        script = path.read_text()
        assert "innerHTML" not in script and "eval(" not in script and "new Function" not in script, path
        assert "setAttribute('style'" not in script and "style=" not in script, path
    shell = (FRONTEND / "shell" / "shell.js").read_text()
    assert "'/app/bus/module.js'" in shell and "'/app/admin/module.js'" in shell
