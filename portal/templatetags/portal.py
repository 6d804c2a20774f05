from django import template

from portal.money import format_money

register = template.Library()


@register.filter
def money(amount, currency: str) -> str:
    """{{ invoice.total|money:invoice.currency }} in the active language's format."""
    return format_money(amount, currency)
