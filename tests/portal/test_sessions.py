import datetime as dt

import pytest
import time_machine
from django.urls import reverse

START = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)


@pytest.mark.django_db
def test_idle_session_ends_after_thirty_minutes(client, user):
    with time_machine.travel(START, tick=False) as traveller:
        client.force_login(user)
        assert client.get(reverse("home")).status_code == 200
        traveller.shift(dt.timedelta(minutes=29))
        assert client.get(reverse("home")).status_code == 200
        traveller.shift(dt.timedelta(minutes=31))
        response = client.get(reverse("home"))
        assert response.status_code == 302
        assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_session_ends_after_twelve_hours_even_when_active(client, user):
    with time_machine.travel(START, tick=False) as traveller:
        client.force_login(user)
        for _ in range(25):  # Active every 29 minutes, for just over 12 hours.
            client.get(reverse("home"))
            traveller.shift(dt.timedelta(minutes=29))
        assert client.get(reverse("home")).status_code == 302


@pytest.mark.django_db
def test_sign_out_ends_the_server_side_session(client, user):
    client.force_login(user)
    key = client.session.session_key
    client.post("/accounts/logout/")
    from django.contrib.sessions.models import Session

    assert not Session.objects.filter(session_key=key).exists()
