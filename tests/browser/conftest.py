"""The `platform` fixture for every browser test, and the RabbitMQ proxy one may put it behind
(tests/browser/chromium.py)."""

from tests.browser.chromium import amqp_proxy, platform

__all__ = ["amqp_proxy", "platform"]
