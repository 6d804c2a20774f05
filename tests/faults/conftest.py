"""Fault tests: the Stripe emulator fixtures of the billing tests."""

from tests.billing.conftest import stripe, stripe_server  # noqa: F401 (fixtures)
