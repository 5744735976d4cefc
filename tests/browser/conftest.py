"""The `platform` fixture for every browser test (tests/browser/chromium.py)."""

from tests.browser.chromium import platform

__all__ = ["platform"]
