"""Structured logs: one JSON object per line (or readable lines on a terminal), carrying the
service name and, inside a request or a delivery, its request and correlation ids."""

import logging
import sys

import structlog


def configure(service: str, *, json: bool | None = None, level: str = "INFO") -> None:
    """Configure structlog for `service`. `json=None` picks JSON unless stdout is a terminal."""
    as_json = (not sys.stdout.isatty()) if json is None else json
    # Terminal tracebacks without local variables: they hold passwords, tokens and personal data.
    terminal = structlog.dev.ConsoleRenderer(
        colors=False, exception_formatter=structlog.dev.RichTracebackFormatter(show_locals=False)
    )
    renderer: structlog.typing.Processor = structlog.processors.JSONRenderer() if as_json else terminal
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            lambda _logger, _name, event: {**event, "service": service},
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        cache_logger_on_first_use=False,  # reconfigurable (tests); logging is off the hot path
    )
    # One line per request comes from the server's access log; client libraries stay quiet.
    for noisy in ("httpx", "httpcore", "piccolo"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
