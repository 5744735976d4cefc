"""Accounts of the financial module."""
