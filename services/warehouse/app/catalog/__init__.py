"""Items, warehouses and locations."""
