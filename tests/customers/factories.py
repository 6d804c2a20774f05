from datetime import timedelta

import factory
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.utils import timezone

from contacts.models import Organization
from customers.models import ScheduledAction
from tests.accounts.factories import UserFactory
from tests.contacts.factories import OrganizationFactory

TOTP_SECRET = "JBSWY3DPEHPK3PXP"


def make_staff(*, totp: bool = True, superuser: bool = False, **fields):
    """A staff member, with a TOTP authenticator unless told otherwise."""
    user = UserFactory(is_staff=True, is_superuser=superuser, **fields)
    if totp:
        TOTP.activate(user, TOTP_SECRET)
    return user


def has_totp(user) -> bool:
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


class ScheduledActionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ScheduledAction

    organization = factory.SubFactory(OrganizationFactory)
    target_status = Organization.Status.CLOSED
    run_on = factory.LazyFunction(lambda: timezone.localdate() + timedelta(days=14))
    reason = "End of contract"
    created_by = factory.LazyFunction(make_staff)
