"""Domain errors of the financial module. Each docstring is the default sentence a user reads;
one mapper in `create_app` turns them (and framework errors) into `contracts.api.ErrorBody`."""

from typing import Any


class FinancialError(Exception):
    """The financial service could not do that."""

    status_code = 400
    code = "financial_error"

    def __init__(self, message: str | None = None, *, extra: dict[str, Any] | None = None) -> None:
        self.message = message or (self.__doc__ or "").strip()
        self.extra = extra
        super().__init__(self.message)


class InvalidInput(FinancialError):
    """The request is not valid."""

    status_code = 400
    code = "invalid_input"


class Unbalanced(FinancialError):
    """A journal entry's debits must equal its credits."""

    status_code = 422
    code = "unbalanced_entry"


class NotFound(FinancialError):
    """No such record in your companies."""

    status_code = 404
    code = "not_found"


class Conflict(FinancialError):
    """That conflicts with the current state of the record."""

    status_code = 409
    code = "conflict"


class Immutable(Conflict):
    """Posted journal entries cannot be changed or deleted; post a reversing entry instead."""

    code = "immutable_entry"


class Overpayment(Conflict):
    """A payment may not exceed what is still owed on the invoice."""

    code = "overpayment"


class NotAuthenticated(FinancialError):
    """A valid bearer token from core is required."""

    status_code = 401
    code = "not_authenticated"


class Forbidden(FinancialError):
    """You lack the permission this operation needs."""

    status_code = 403
    code = "forbidden"


class ModuleDisabled(Forbidden):
    """The financial module is not enabled for this company."""

    code = "module_disabled"


class CoreUnavailable(FinancialError):
    """The company's configuration could not be read from core; try again shortly."""

    status_code = 503
    code = "core_unavailable"
