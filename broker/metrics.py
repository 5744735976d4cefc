"""Prometheus metrics of the bus, labelled by event type and subscription."""

from prometheus_client import Counter, Gauge, Histogram

published = Counter("bus_events_published_total", "Events written to an outbox", ["event_type", "source"])
relayed = Counter("bus_events_relayed_total", "Outbox rows moved onto the bus")
claimed = Counter("bus_deliveries_claimed_total", "Deliveries workers claimed with a claim statement")
handed_over = Counter(
    "bus_deliveries_handed_over_total",
    "Deliveries the relay claimed for its own process's idle workers as it created them (no claim statement)",
)
delivered = Counter("bus_deliveries_succeeded_total", "Deliveries handled", ["event_type", "subscription"])
failed = Counter("bus_deliveries_failed_total", "Handler failures", ["event_type", "subscription"])
retried = Counter("bus_deliveries_retried_total", "Deliveries scheduled again", ["event_type", "subscription"])
dead_lettered = Counter(
    "bus_deliveries_dead_lettered_total", "Deliveries moved to dead letters", ["event_type", "subscription"]
)
delivery_latency = Histogram(
    "bus_handler_seconds",
    "Time a handler takes",
    ["subscription"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
relay_lag = Histogram(
    "bus_relay_lag_seconds",
    "Time from publishing an event to the relay putting it on the bus",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
end_to_end = Histogram(
    "bus_delivery_latency_seconds",
    "Time from publishing an event to a handler finishing with it",
    ["subscription"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
backlog = Gauge("bus_backlog", "Pending deliveries", ["subscription"])
rabbitmq_connected = Gauge(
    "bus_rabbitmq_connected", "1 while the RabbitMQ transport is connected with its queues bound", ["service"]
)
rabbitmq_forward_stalled = Gauge(
    "bus_rabbitmq_forward_stalled",
    "1 while an event has failed to reach RabbitMQ several times in a row (it waits in Postgres; alert on it)",
    ["service"],
)
rabbitmq_forward_failures = Counter(
    "bus_rabbitmq_forward_failures_total", "Failed attempts to publish an event to RabbitMQ", ["service"]
)
rabbitmq_reconnects = Counter(
    "bus_rabbitmq_reconnects_total", "Times the RabbitMQ connection came back after being lost", ["service"]
)
