from allauth.usersessions.models import UserSession
from django.utils import timezone


def sessions_end_for_user(*, user) -> None:
    """End every server-side session of a person, tracked or not, from now on."""
    user.sessions_revoked_at = timezone.now()
    user.save(update_fields=["sessions_revoked_at"])
    for session in UserSession.objects.filter(user=user):
        session.end()
