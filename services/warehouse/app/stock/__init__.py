"""Movements and the stock levels derived from them."""
