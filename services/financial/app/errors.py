"""The financial module's own facts as problems of the kit's one hierarchy. Each docstring is
the default sentence a user reads; the kit's handler map answers them as problem+json."""

from modulekit.errors import (
    Conflict,
    DependencyUnavailable,
    Forbidden,
    InvalidInput,
    ModuleDisabled,
    NotFound,
    Unauthorized,
    Unprocessable,
)

__all__ = [
    "Conflict", "DependencyUnavailable", "Forbidden", "Immutable", "InvalidInput", "ModuleDisabled", "NotFound",
    "Overpayment", "Unauthorized", "Unbalanced",
]


class Unbalanced(Unprocessable):
    """A journal entry's debits must equal its credits."""

    title = "Unbalanced entry"
    code = "unbalanced-entry"


class Immutable(Conflict):
    """Posted journal entries cannot be changed or deleted; post a reversing entry instead."""

    title = "Immutable entry"
    code = "immutable-entry"


class Overpayment(Conflict):
    """A payment may not exceed what is still owed on the invoice."""

    title = "Overpayment"
    code = "overpayment"
