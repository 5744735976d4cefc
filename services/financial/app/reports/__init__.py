"""Reports of the financial module."""
