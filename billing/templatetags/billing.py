from django import template

from billing import stripe_client

register = template.Library()


@register.simple_tag
def stripe_test_mode() -> bool:
    """{% stripe_test_mode as test_mode %}: Stripe test keys or the emulator are in use."""
    return stripe_client.is_test_mode()


@register.filter
def card_label(method) -> str:
    """{{ method|card_label }} → "Visa •••• 4242"."""
    from billing.profiles import method_label

    return method_label(method)
