from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from contacts.services import activity_record_sign_in


@receiver(user_logged_in)
def record_sign_in(sender, request, user, **kwargs) -> None:
    activity_record_sign_in(user=user)
