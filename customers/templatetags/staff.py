from django import template
from django.utils.dateparse import parse_date

from contacts.models import Organization
from plans.models import Subscription

register = template.Library()

_LABELS = {**dict(Subscription.Status.choices), **dict(Organization.Status.choices)}


@register.filter
def status_label(value: str) -> str:
    """An account or service status stored in the audit data, in the reader's language."""
    return _LABELS.get(value, value)


@register.filter
def iso_date(value: str):
    """A date stored as ISO text in the audit data, as a date the `date` filter formats."""
    return parse_date(value) if isinstance(value, str) else value
