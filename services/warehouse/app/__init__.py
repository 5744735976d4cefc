"""The warehouse service (Litestar), built on the module kit."""
