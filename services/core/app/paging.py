"""Limit and offset for core's lists: no list answers more than MAX_LIMIT rows at once."""

from typing import Annotated

from litestar.params import Parameter

DEFAULT_LIMIT = 100
MAX_LIMIT = 500

Limit = Annotated[int, Parameter(ge=1, le=MAX_LIMIT, description=f"at most this many rows (1-{MAX_LIMIT})")]
Offset = Annotated[int, Parameter(ge=0, le=10_000_000, description="skip this many rows first")]
