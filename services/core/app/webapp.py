"""The browser app's shell: `/` answers index.html, `/app/*` its script and style sheet.

The files live in `services/core/frontend/` (no build step: plain ES modules). Module pages are not
served here; each module serves its own frontend at `/modules/<name>/` and the shell `import()`s it.
"""

from pathlib import Path

from litestar import Response, get
from litestar.static_files import create_static_files_router
from litestar.types import ControllerRouterHandler

FRONTEND = Path(__file__).resolve().parent.parent / "frontend"


@get("/", include_in_schema=False, cache=False)
async def index() -> Response[bytes]:
    """The single page; everything after the `#` is routed in the browser."""
    return Response((FRONTEND / "index.html").read_bytes(), media_type="text/html",
                    headers={"Cache-Control": "no-cache"})


app_files = create_static_files_router(path="/app", directories=[FRONTEND], name="web-app",
                                       include_in_schema=False)

WEB_APP: list[ControllerRouterHandler] = [index, app_files]
