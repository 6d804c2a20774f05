from allauth.usersessions.models import UserSession


def sessions_end_for_user(*, user) -> int:
    """End every server-side session of a person; returns how many were ended."""
    sessions = list(UserSession.objects.filter(user=user))
    for session in sessions:
        session.end()
    return len(sessions)
