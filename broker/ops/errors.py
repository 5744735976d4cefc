"""Why a bus operation could not be carried out: each error's docstring is its default message."""

from broker.errors import BrokerError


class OpsError(BrokerError):
    """The bus operation could not be carried out."""


class UnknownSubscription(OpsError):
    """No subscription has that name."""


class InactiveSubscription(OpsError):
    """The subscription is inactive: no worker would deliver to it."""


class UnknownEvent(OpsError):
    """No event has that id (it may have passed its retention)."""


class UnknownDeadLetter(OpsError):
    """No dead letter has that id."""


class UnknownReplay(OpsError):
    """No replay run has that id."""


class EmptySelection(OpsError):
    """Nothing matches the selection."""


class OutOfScope(OpsError):
    """The selection reaches outside the tenant this administrator may act on."""


class SchemaMissing(OpsError):
    """The bus tables are missing from this database: run the migrations first."""
