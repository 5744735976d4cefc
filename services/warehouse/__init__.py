"""The warehouse module: items, locations, stock movements and reservations for invoices."""
