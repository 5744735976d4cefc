"""Browser files: a module's own pages at `/modules/<name>/`, and the shared helpers
(`/ui/kit.js`) that core serves once for every module's pages to import."""

from pathlib import Path

from litestar import Router
from litestar.static_files import create_static_files_router

UI_KIT = Path(__file__).resolve().parent / "ui"


def module_frontend(service: str, folder: Path) -> Router:
    """`folder` served at `/modules/<service>/` (the core shell `import()`s the manifest's entry)."""
    return create_static_files_router(path=f"/modules/{service}", directories=[folder],
                                      name=f"{service}-frontend", include_in_schema=False)


ui_kit_files = create_static_files_router(path="/ui", directories=[UI_KIT], name="ui-kit", include_in_schema=False)
"""`/ui/kit.js`, mounted by core (the gateway sends `/ui/*` to core with the shell)."""
