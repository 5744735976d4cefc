"""Permission names, as declared in manifest.json."""

ITEMS_READ = "warehouse.items.read"
ITEMS_WRITE = "warehouse.items.write"
STOCK_READ = "warehouse.stock.read"
MOVEMENTS_WRITE = "warehouse.movements.write"
