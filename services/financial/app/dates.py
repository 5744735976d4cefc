"""Date arithmetic that answers 400 instead of overflowing (9999-12-31 plus 30 days is no date)."""

from datetime import date, timedelta

from modulekit.errors import FieldProblem
from services.financial.app.errors import InvalidInput


def add_days(start: date, days: int, *, what: str) -> date:
    """`start` + `days`, or InvalidInput naming `what` when the result is not a representable date."""
    try:
        return start + timedelta(days=days)
    except OverflowError:
        message = (f"{what}: {start.isoformat()} plus {days} days is past the last date this service can store "
                   "(9999-12-31); give an earlier date or the other date explicitly")
        field = what.split(" ")[0].strip("`")
        raise InvalidInput(message, errors=[FieldProblem(field=field, message=message)]) from None
