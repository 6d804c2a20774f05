"""Default customer contact classes and types, so staff can log contacts on day one and
customer disputes have their "Billing / dispute" type. Staff edit them in the admin."""

from django.db import migrations

# Frozen copy: later changes to contacts.casework.DEFAULT_CONTACT_TYPES don't rewrite history.
DEFAULTS = [
    (
        "billing",
        "Billing",
        [
            ("billing_question", "Billing question"),
            ("dispute", "Dispute"),
            ("payment_promise", "Payment promise"),
            ("complaint", "Complaint"),
        ],
    ),
    (
        "account",
        "Account",
        [("details_change", "Change of details"), ("cancellation", "Cancellation request")],
    ),
    (
        "service",
        "Service",
        [("service_problem", "Service problem"), ("information", "Information request")],
    ),
]


def seed(apps, schema_editor):
    ContactClass = apps.get_model("contacts", "CustomerContactClass")
    ContactType = apps.get_model("contacts", "CustomerContactType")
    for class_code, class_label, types in DEFAULTS:
        contact_class, _ = ContactClass.objects.get_or_create(
            code=class_code, defaults={"label": class_label}
        )
        for code, label in types:
            ContactType.objects.get_or_create(
                contact_class=contact_class, code=code, defaults={"label": label}
            )


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0006_customer_contact_log"),
    ]

    operations = [
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
