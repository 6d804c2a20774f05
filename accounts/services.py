from accounts.models import User


def user_set_language(*, user: User, language: str) -> bool:
    """Save the interface language a person chose; True if it changed."""
    if user.language == language:
        return False
    user.language = language
    user.save(update_fields=["language"])
    return True
