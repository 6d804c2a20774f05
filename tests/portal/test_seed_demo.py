import pytest
from django.core.management import CommandError, call_command

from accounts.demo import DEMO_PASSWORD, DEMO_USERS
from accounts.models import User


@pytest.mark.django_db
def test_seed_demo_creates_the_demo_people_once(settings):
    settings.DEBUG = True
    call_command("seed_demo", quiet=True)
    call_command("seed_demo", quiet=True)
    assert User.objects.count() == len(DEMO_USERS)
    staff = User.objects.get(email="staff@customer-center.example")
    assert staff.is_staff and staff.check_password(DEMO_PASSWORD)


@pytest.mark.django_db
def test_seed_demo_refuses_with_debug_off(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError):
        call_command("seed_demo", quiet=True)
    assert not User.objects.exists()
