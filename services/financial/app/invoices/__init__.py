"""Invoices of the financial module."""
