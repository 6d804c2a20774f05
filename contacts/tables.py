import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from contacts.models import ActivityEvent, Contact
from portal.tables import PortalTable


class ContactTable(PortalTable):
    email = tables.Column(verbose_name=_("E-mail"), accessor="user__email")
    name = tables.Column(verbose_name=_("Name"), accessor="user__name")
    roles = tables.TemplateColumn(
        template_name="contacts/columns/roles.html", verbose_name=_("Roles"), orderable=False
    )
    last_login = tables.DateTimeColumn(
        verbose_name=_("Last sign-in"), accessor="user__last_login", format="SHORT_DATETIME_FORMAT"
    )
    actions = tables.TemplateColumn(
        template_name="contacts/columns/contact_actions.html",
        verbose_name=_("Actions"),
        orderable=False,
    )

    class Meta(PortalTable.Meta):
        model = Contact
        fields = ["email", "name", "roles", "last_login", "actions"]
        empty_text = _("No users yet.")


class ActivityTable(PortalTable):
    created_at = tables.DateTimeColumn(verbose_name=_("When"), format="SHORT_DATETIME_FORMAT")
    actor = tables.Column(verbose_name=_("Who"), accessor="actor__email", default="—")
    verb = tables.Column(verbose_name=_("What"))
    target = tables.Column(verbose_name=_("Subject"), default="")

    class Meta(PortalTable.Meta):
        model = ActivityEvent
        fields = ["created_at", "actor", "verb", "target"]
        empty_text = _("No activity matches these filters.")
