"""Payments of the financial module."""
