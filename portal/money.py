"""Money: Decimal amounts with their currency; never float. Rounded once, per currency."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.utils import formats, translation

# ISO 4217 minor units where they differ from 2.
MINOR_UNITS = {"JPY": 0, "KRW": 0, "CLP": 0, "ISK": 0, "KWD": 3, "BHD": 3, "JOD": 3, "OMR": 3}
SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "BRL": "R$", "CHF": "CHF", "JPY": "¥"}
SUPPORTED_CURRENCIES = ["USD", "EUR", "GBP", "BRL", "CHF", "CAD", "AUD", "JPY"]
ZERO = Decimal("0.00")


class CurrencyMismatch(ValueError):
    pass


def decimals_for(currency: str) -> int:
    return MINOR_UNITS.get(currency.upper(), 2)


def quantize(amount: Decimal | int | str, currency: str) -> Decimal:
    """Round half up to the currency's precision — the one rounding rule of the portal."""
    exponent = Decimal(1).scaleb(-decimals_for(currency))
    return Decimal(amount).quantize(exponent, rounding=ROUND_HALF_UP)


def to_minor_units(amount: Decimal, currency: str) -> int:
    """For Stripe only: 12.34 USD → 1234."""
    return int(quantize(amount, currency).scaleb(decimals_for(currency)))


def from_minor_units(value: int, currency: str) -> Decimal:
    return quantize(Decimal(value).scaleb(-decimals_for(currency)), currency)


def parse_amount(value: str) -> Decimal | None:
    """A finite Decimal from user text, or None (rejects NaN, Infinity and garbage)."""
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() else None


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str

    def __post_init__(self):
        object.__setattr__(self, "amount", quantize(self.amount, self.currency))

    def _check(self, other: Money) -> None:
        if not isinstance(other, Money) or other.currency != self.currency:
            raise CurrencyMismatch(f"Cannot combine {self.currency} with {other!r}")

    def __add__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __str__(self) -> str:
        return format_money(self.amount, self.currency)


def format_money(amount: Decimal | None, currency: str, language: str | None = None) -> str:
    """Locale-aware display: $1,234.50 (en), 1.234,50 € (de), 1 234,50 € (fr), US$ 1.234,50."""
    if amount is None:
        return ""
    language = language or translation.get_language() or "en"
    rounded = quantize(amount, currency)
    sign = "-" if rounded < 0 else ""
    with translation.override(language):
        number = formats.number_format(
            abs(rounded), decimals_for(currency), use_l10n=True, force_grouping=True
        )
    symbol = SYMBOLS.get(currency, currency)
    if language.startswith("pt"):
        symbol = "US$" if currency == "USD" else symbol
        return f"{sign}{symbol}\u00a0{number}"
    if language.startswith(("de", "fr")):
        return f"{sign}{number}\u00a0{symbol}"
    return f"{sign}{symbol}{number}" if len(symbol) == 1 else f"{sign}{symbol}\u00a0{number}"
