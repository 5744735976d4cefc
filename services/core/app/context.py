"""What every handler of core shares: settings, the bus and the token service (built in create_app)."""

from dataclasses import dataclass

from broker import EventBus
from services.core.app.auth.tokens import TokenService
from services.core.app.settings import Settings


@dataclass(frozen=True, slots=True)
class CoreContext:
    settings: Settings
    bus: EventBus
    tokens: TokenService
