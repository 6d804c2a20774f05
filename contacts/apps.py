from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ContactsConfig(AppConfig):
    name = "contacts"
    verbose_name = _("Customer organizations and contacts")

    def ready(self) -> None:
        from contacts import receivers  # noqa: F401
