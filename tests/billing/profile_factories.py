"""Factories for billing profiles and saved cards (mirror rows, no Stripe call)."""

import factory

from billing.models import BillingProfile, PaymentMethod
from tests.contacts.factories import OrganizationFactory


class BillingProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BillingProfile
        django_get_or_create = ["organization"]

    organization = factory.SubFactory(OrganizationFactory)
    contact_name = "Pat Payer"
    contact_email = "pay@example.com"


class PaymentMethodFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PaymentMethod

    organization = factory.SubFactory(OrganizationFactory)
    stripe_payment_method_id = factory.Sequence(lambda n: f"pm_test_{n:06d}")
    brand = "visa"
    last4 = "4242"
    exp_month = 12
    exp_year = 2035
    is_default = False
