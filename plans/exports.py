"""The billing schedule as a spreadsheet (CSV, XLSX) and as a PDF, with the page's figures.

Text cells go through `safe_cell` (no formulas); amounts stay Decimal.
"""

from __future__ import annotations

from decimal import Decimal

import tablib
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from contacts.models import Organization
from invoices.pdf import SELLER, render_pdf
from plans.services import BillingSchedule
from portal.tables import safe_cell


def _plain(value: Decimal) -> Decimal:
    """5.000 → 5 and 10.000 → 10 (not 1E+1): no trailing zeros, no exponent."""
    return Decimal(f"{value.normalize():f}")


def schedule_dataset(schedule: BillingSchedule) -> tablib.Dataset:
    """One row per billing date and subscription, then one total row per currency."""
    dataset = tablib.Dataset(
        headers=[
            _("Billing date"),
            _("Plan"),
            _("Contract"),
            _("Period start"),
            _("Period end"),
            _("Quantity"),
            _("Unit price"),
            _("Prorated"),
            _("Net"),
            _("Tax"),
            _("Total"),
            _("Currency"),
        ],
        title=_("Billing schedule"),
    )
    for row in schedule.rows:
        subscription, period = row.subscription, row.period
        dataset.append(
            [
                period.start,
                safe_cell(subscription.plan.name),
                safe_cell(subscription.contract.number if subscription.contract_id else ""),
                period.start,
                period.end,
                _plain(subscription.quantity),
                _plain(subscription.unit_price),
                safe_cell(
                    _("%(days)s of %(full_days)s days")
                    % {"days": period.days, "full_days": period.full_days}
                    if period.prorated
                    else ""
                ),
                period.net,
                period.tax,
                period.total,
                safe_cell(period.currency),
            ]
        )
    for totals in schedule.totals:
        dataset.append(
            [
                "",
                safe_cell(_("Total")),
                "",
                "",
                "",
                "",
                "",
                "",
                totals.net,
                totals.tax,
                totals.total,
                safe_cell(totals.currency),
            ]
        )
    return dataset


def schedule_pdf(schedule: BillingSchedule, *, organization: Organization) -> bytes:
    """The schedule document, in the organization's language and number format."""
    with translation.override(organization.language):
        html = render_to_string(
            "plans/pdf/schedule.html",
            {
                "seller": SELLER,
                "generated_on": timezone.localdate(),
                "organization": organization,
                "schedule": schedule,
            },
        )
        return render_pdf(html)
