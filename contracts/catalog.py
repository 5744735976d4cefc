"""Every domain event class in `contracts/`, found by walking the package.

The AsyncAPI document and its test read this list, so an event added to any contracts module
is documented without anyone remembering to register it.
"""

import importlib
import pkgutil

import contracts
from contracts.envelope import Event, event_type_of


def event_classes() -> list[type[Event]]:
    """The tagged Event subclasses of every contracts module, ordered by event type."""
    found: dict[str, type[Event]] = {}
    for info in pkgutil.iter_modules(contracts.__path__, prefix="contracts."):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if (isinstance(value, type) and issubclass(value, Event) and value is not Event
                    and value.__struct_config__.tag is not None):
                found[event_type_of(value)] = value
    return [found[name] for name in sorted(found)]
