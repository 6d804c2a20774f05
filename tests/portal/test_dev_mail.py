import pytest
from django.core.mail import EmailMessage

from portal.mail_backend import MailDirBackend


@pytest.mark.django_db
def test_dev_mail_page_shows_written_messages(client, settings, tmp_path):
    settings.DEBUG = True
    settings.MAIL_DIR = tmp_path
    MailDirBackend().send_messages(
        [EmailMessage("Your sign-in code", "Code: ABC123", "from@example.com", ["to@example.com"])]
    )
    page = client.get("/_dev/mail/")
    assert b"Your sign-in code" in page.content
    mail_id = next(tmp_path.glob("*.eml")).stem
    assert b"ABC123" in client.get(f"/_dev/mail/{mail_id}/").content


@pytest.mark.django_db
def test_dev_mail_is_hidden_without_debug(client, settings, tmp_path):
    settings.DEBUG = False
    settings.MAIL_DIR = tmp_path
    assert client.get("/_dev/mail/").status_code == 404
