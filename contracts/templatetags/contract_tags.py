"""Contract page and PDF helpers: prices with more precision than the currency has."""

from decimal import Decimal

from django import template
from django.utils import formats

from portal.money import decimals_for, format_money, quantize

register = template.Library()

MAX_PRICE_PLACES = 4  # Subscription.unit_price has four decimal places.


@register.filter
def price(amount: Decimal | None, currency: str) -> str:
    """A unit price in the active language: $0.0125 keeps its digits, $12.50 looks like money."""
    if amount is None:
        return ""
    places = decimals_for(currency)
    exponent = Decimal(amount).normalize().as_tuple().exponent
    needed = min(max(-exponent if isinstance(exponent, int) else 0, places), MAX_PRICE_PLACES)
    text = format_money(amount, currency)
    if needed <= places:
        return text
    short = formats.number_format(abs(quantize(amount, currency)), places, force_grouping=True)
    full = formats.number_format(abs(Decimal(amount)), needed, force_grouping=True)
    return text.replace(short, full, 1)


@register.filter
def period_amount(subscription) -> str:
    """What one billing period of a subscription costs: quantity × unit price, rounded once."""
    amount = quantize(subscription.quantity * subscription.unit_price, subscription.currency)
    return format_money(amount, subscription.currency)
