"""Old payloads of the events the warehouse consumes, read as today's shape.

`financial.invoice.created` v1 had no lines; the step that upgrades it lives with the contract
(`contracts.financial.UPCASTS`), and every consumer registers it with its bus. Operators pass
`--upcasters services.warehouse.app.upcasting:upcasters` to `buildify-events show`.
"""

from broker.upcasting import Upcasters
from contracts.financial import UPCASTS, InvoiceCreated

upcasters = Upcasters.for_events(InvoiceCreated)
for (event_type, version), step in UPCASTS.items():
    upcasters.register(event_type, version, step)
