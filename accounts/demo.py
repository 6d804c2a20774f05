"""Demo people for `seed_demo`; later modules give them organizations and data."""

from accounts.models import User

DEMO_PASSWORD = "customer-center-demo"  # noqa: S105 — documented demo credential, DEBUG only.
DEMO_USERS = [
    ("finance@acme.example", "Fiona Finance", "en", False),
    ("tech@acme.example", "Theo Tech", "en", False),
    ("exec@acme.example", "Erin Exec", "en", False),
    ("finance@globex.example", "Franziska Finanz", "de", False),
    ("tech@globex.example", "Tobias Technik", "de", False),
    ("exec@globex.example", "Eva Vorstand", "de", False),
    ("consultant@partners.example", "Casey Consultant", "en", False),
    ("staff@customer-center.example", "Sam Staff", "en", True),
]


def seed_users() -> dict[str, User]:
    users = {}
    for email, name, language, is_staff in DEMO_USERS:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(
                email, DEMO_PASSWORD, name=name, language=language, is_staff=is_staff
            )
        users[email] = user
    return users
