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


class Unbalanced(Unprocessable, title="Unbalanced entry", code="unbalanced-entry"):
    """A journal entry's debits must equal its credits."""


class Immutable(Conflict, title="Immutable entry", code="immutable-entry"):
    """Posted journal entries cannot be changed or deleted; post a reversing entry instead."""


class Overpayment(Conflict, title="Overpayment", code="overpayment"):
    """A payment may not exceed what is still owed on the invoice."""
