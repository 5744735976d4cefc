"""What every handler of core shares: settings, the bus and the token service (built in create_app)."""

import asyncio
from dataclasses import dataclass, field
from typing import Any

from broker import EventBus
from services.core.app.auth.throttle import LoginThrottle
from services.core.app.auth.tokens import TokenService
from services.core.app.settings import Settings


@dataclass(frozen=True, slots=True)
class CoreContext:
    settings: Settings
    bus: EventBus
    tokens: TokenService
    login_throttle: LoginThrottle = field(default_factory=LoginThrottle)
    background: set["asyncio.Task[Any]"] = field(default_factory=set)  # e.g. replays started over HTTP
    replays: dict[str, int] = field(default_factory=dict)  # tenant id -> replays running in this process
