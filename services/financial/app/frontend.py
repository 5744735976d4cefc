"""The module's browser pages, served at `/modules/financial/` for the core shell to `import()`."""

from pathlib import Path

from litestar.static_files import create_static_files_router

FRONTEND = Path(__file__).resolve().parent.parent / "frontend"

frontend_files = create_static_files_router(path="/modules/financial", directories=[FRONTEND],
                                            name="financial-frontend", include_in_schema=False)
