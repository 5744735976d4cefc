"""The bus admin API: the operations of `buildify-events`, over HTTP, for the dashboard."""
