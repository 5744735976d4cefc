"""The warehouse's own facts as problems (RFC 9457 through the kit's one mapper)."""

from modulekit.errors import Conflict, NotFound


class InsufficientStock(Conflict):
    """Not enough stock is available at that location."""

    title = "Insufficient stock"
    code = "insufficient-stock"


class DuplicateCode(Conflict):
    """That SKU or code is already in use in this company."""

    title = "Duplicate"
    code = "duplicate"


class UnknownRecord(NotFound):
    """No such item, warehouse or location in your companies."""
