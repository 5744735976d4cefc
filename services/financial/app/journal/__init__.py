"""Journal of the financial module."""
