import pytest


@pytest.mark.django_db
def test_healthz_reports_database_and_broker(client, settings):
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 200
    assert body["database"] == "ok"
    expected = "ok" if settings.REDIS_URL else "in-process"
    assert body["broker"] == expected
    assert "SECRET" not in response.content.decode().upper()


@pytest.mark.django_db
def test_healthz_reports_unreachable_broker(client, monkeypatch):
    from portal import views

    monkeypatch.setattr(views, "_broker_status", lambda: "unreachable")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["broker"] == "unreachable"
