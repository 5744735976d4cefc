"""Money as Decimal rounded to the currency's minor unit; floats never touch an amount."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from services.financial.app.errors import InvalidInput

# ISO 4217 exponents that differ from 2.
_MINOR_UNITS = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
    "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}
ZERO = Decimal("0")


def minor_units(currency: str) -> int:
    """Digits after the decimal point for `currency` (2 unless ISO 4217 says otherwise)."""
    return _MINOR_UNITS.get(currency.upper(), 2)


def check_currency(currency: str) -> str:
    """A three-letter upper-case code, or InvalidInput naming the bad value."""
    if len(currency) != 3 or not currency.isalpha():
        raise InvalidInput(f"currency must be a three-letter ISO 4217 code, not {currency!r}")
    return currency.upper()


def quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-minor_units(currency))


def round_money(amount: Decimal, currency: str) -> Decimal:
    """Round a computed amount (tax, quantity x price) half-up to the minor unit."""
    return amount.quantize(quantum(currency), rounding=ROUND_HALF_UP)


def exact_money(amount: Decimal, currency: str, what: str) -> Decimal:
    """An amount a person typed: refuse more decimals than the currency has, instead of guessing."""
    if not amount.is_finite():
        raise InvalidInput(f"{what} must be a finite number")
    try:
        rounded = amount.quantize(quantum(currency))
    except InvalidOperation as exc:
        raise InvalidInput(f"{what} is too large") from exc
    if rounded != amount:
        raise InvalidInput(
            f"{what} {amount} has more decimals than {currency} allows ({minor_units(currency)})"
        )
    if abs(rounded) >= Decimal("1e14"):
        raise InvalidInput(f"{what} is too large")
    return rounded
