"""Payments due, the pay flow (start → confirm → status) and the payment history.

Finance contacts pay; executives read (POSTs answer 403); technical contacts see none of it.
"""

from django.conf import settings
from django.contrib import messages
from django.db.models import Prefetch
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin

from billing import payments
from billing.models import FailedCharge, Payment, PaymentAllocation, PaymentMethod
from billing.payment_forms import NEW_CARD, PayForm, PaymentFilter
from billing.payment_tables import PaymentTable, status_badge
from billing.receipts import receipt_pdf
from billing.stripe_client import StripeUnavailable, decline_reason, stripe_csp
from contacts.roles import Action, Module
from invoices.models import ZERO, Invoice, InvoiceAdjustment
from orders.models import Order
from portal.access import ModuleViewMixin, check_action, get_for, module_view

# SetupIntents created for "a new card" in this session, by payment: only those are charged.
SESSION_PAY_SETUP_INTENTS = "billing_pay_setup_intents"


def _can_pay(request) -> bool:
    # Open invoices stay payable on inactive and closed accounts (orders don't: see services).
    return request.contact.can_do(Action.PAY)


def _allocations():
    return Prefetch(
        "allocations",
        queryset=PaymentAllocation.objects.select_related("invoice", "order").order_by("pk"),
    )


# --- Payments due -------------------------------------------------------------------------------


def _preselection(params) -> dict:
    return {
        "invoices": set(params.getlist("invoice")) | set(params.getlist("numbers")),
        "orders": set(params.getlist("order")),
        "failed": params.get("failed_charge") or params.get("failed", ""),
    }


def _due_context(request, form: PayForm | None = None) -> dict:
    """Everything payable, in a fixed number of queries however many rows there are."""
    contact = request.contact
    params = request.POST if form is not None and form.is_bound else request.GET
    chosen = _preselection(params)
    in_progress = {}
    # Unfinished payments block their invoices, unless stale (abandoned card form): a new
    # submission releases those.
    for allocation in PaymentAllocation.objects.filter(
        payment__organization_id=contact.organization_id,
        payment__status__in=payments.IN_PROGRESS,
        payment__created_at__gte=timezone.now() - payments.STALE_AFTER,
    ).select_related("payment"):
        in_progress[("invoice", allocation.invoice_id)] = allocation.payment
        in_progress[("order", allocation.order_id)] = allocation.payment
    invoices = []
    totals: dict[str, dict] = {}
    for invoice in (
        Invoice.objects.visible_to(contact)
        .unpaid()
        .filter(balance__gt=0)
        .order_by("due_date", "pk")
    ):
        # Due dates sort overdue invoices first.
        invoices.append(
            {
                "invoice": invoice,
                "selected": invoice.number in chosen["invoices"],
                "amount": params.get(f"amount-{invoice.number}") or invoice.balance,
                "in_progress": in_progress.get(("invoice", invoice.pk)),
            }
        )
        sums = totals.setdefault(invoice.currency, {"due": ZERO, "overdue": ZERO})
        sums["due"] += invoice.balance
        if invoice.is_overdue:
            sums["overdue"] += invoice.balance
    orders = []
    for order in (
        Order.objects.visible_to(contact)
        .awaiting_payment()
        .select_related("contract")
        .order_by("order_date", "pk")
    ):
        orders.append(
            {
                "order": order,
                "selected": order.number in chosen["orders"],
                "in_progress": in_progress.get(("order", order.pk)),
            }
        )
        totals.setdefault(order.currency, {"due": ZERO, "overdue": ZERO})["due"] += order.total
    failed_charges = list(
        FailedCharge.objects.visible_to(contact)
        .filter(resolved_at__isnull=True)
        .select_related("payment__payment_method")
        .prefetch_related(
            Prefetch(
                "payment__allocations",
                queryset=PaymentAllocation.objects.select_related("invoice", "order"),
            )
        )
        .order_by("-created_at")
    )
    for failed in failed_charges:
        failed.display_reason = payments.failure_reason(failed.payment) or failed.reason
        failed.selected = str(failed.public_id) == chosen["failed"]
        failed.targets = [
            a.invoice.number if a.invoice_id else a.order.number
            for a in failed.payment.allocations.all()
        ]
    methods = list(PaymentMethod.objects.visible_to(contact).usable())
    for method in methods:
        method.expired = method.is_expired()
    can_pay = _can_pay(request)
    if form is None:
        default = next((m for m in methods if m.is_default and not m.expired), None)
        form = PayForm(
            initial={
                "form_token": payments.new_form_token(),
                "method": str(default.public_id) if default else NEW_CARD,
            },
            contact=contact,
        )
    selected_method = form["method"].value() or NEW_CARD
    return {
        "invoices": invoices,
        "orders": orders,
        "failed_charges": failed_charges,
        "methods": methods,
        "selected_method": str(selected_method),
        "new_card": NEW_CARD,
        "totals": dict(sorted(totals.items())),
        "form": form,
        "can_pay": can_pay,
        "has_anything": bool(invoices or orders or failed_charges),
    }


@module_view(Module.BILLING)
def payments_due(request):
    return render(request, "billing/pay_due.html", _due_context(request))


@module_view(Module.BILLING)
@require_POST
def pay_start(request):
    contact = check_action(request, Action.PAY, changes=False)
    form = PayForm(request.POST, contact=contact)
    if not form.is_valid():
        return render(request, "billing/pay_due.html", _due_context(request, form))
    data = form.cleaned_data
    try:
        payment = payments.payment_start(
            contact=contact,
            form_token=data["form_token"],
            invoices=data["invoices"],
            orders=data["orders"],
            failed_charge=data["failed_charge"],
            payment_method=None if data["new_card"] else data["payment_method"],
            partial_reason=data["partial_reason"],
        )
    except payments.PaymentError as error:
        if error.payment is not None and error.code in ("declined", "unavailable"):
            messages.error(request, error.message)
            return redirect(_confirm_url(error.payment, make_default=False))
        form.add_error(None, error.message)
        return render(request, "billing/pay_due.html", _due_context(request, form))
    make_default = data["make_default"]
    if payment.status == Payment.Status.SUCCEEDED:
        if make_default:
            payments.payment_make_default_method(contact=contact, payment=payment)
        make_default = False
    return redirect(_confirm_url(payment, make_default=make_default))


def _confirm_url(payment: Payment, *, make_default: bool) -> str:
    url = reverse("billing:pay_confirm", args=[payment.public_id])
    return f"{url}?{urlencode({'default': '1'})}" if make_default else url


# --- Confirm page and status --------------------------------------------------------------------


def _payment_for(request, payment_id) -> Payment:
    return get_for(
        request,
        Payment.objects.select_related("payment_method", "paid_by").prefetch_related(
            _allocations()
        ),
        public_id=payment_id,
    )


def _sync_quietly(payment: Payment) -> bool:
    """Bring the payment up to date with Stripe; False if Stripe did not answer."""
    try:
        payments.payment_sync(payment=payment)
    except StripeUnavailable:
        return False
    return True


@module_view(Module.BILLING)
@stripe_csp
def pay_confirm(request, payment_id):
    payment = _payment_for(request, payment_id)
    reachable = _sync_quietly(payment)
    can_pay = _can_pay(request)
    status = payment.status
    context = {
        "payment": payment,
        "allocations": list(payment.allocations.all()),
        "badge": status_badge(payment),
        "failure": payments.failure_reason(payment),
        "make_default": request.GET.get("default") == "1",
        "can_pay": can_pay,
        "reachable": reachable,
        "mode": "final" if status in payments.FINAL else "processing",
        "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
        "stripe_js_url": settings.STRIPE_JS_URL,
        "client_secret": "",
    }
    if can_pay and status == Payment.Status.CREATED and not payment.stripe_payment_intent_id:
        if payment.payment_method_id is not None:
            context["mode"] = "retry"  # Stripe did not answer at the start: try again safely.
        else:
            context["mode"] = "setup"
            try:
                secret = payments.payment_card_setup_start(contact=request.contact, payment=payment)
            except payments.PaymentError as error:
                context.update(mode="unavailable", error=error.message)
            else:
                known = request.session.get(SESSION_PAY_SETUP_INTENTS, {})
                known[str(payment.public_id)] = secret.split("_secret_")[0]
                request.session[SESSION_PAY_SETUP_INTENTS] = dict(list(known.items())[-5:])
                context["client_secret"] = secret
    elif can_pay and status == Payment.Status.REQUIRES_ACTION:
        try:
            context.update(
                mode="action", client_secret=payments.payment_client_secret(payment=payment)
            )
        except StripeUnavailable:
            context.update(mode="unavailable", error=payments.unavailable_message())
    context["loads_stripe"] = context["mode"] in ("setup", "action")
    context["retry_query"] = _retry_query(payment, context["allocations"])
    return render(request, "billing/pay_confirm.html", context)


def _retry_query(payment: Payment, allocations) -> str:
    """Payments due with the same things preselected (a failed payment's key is spent: the
    page issues a new form token)."""
    failed = FailedCharge.objects.filter(payment=payment).values_list("public_id", flat=True)
    if payment.origin == Payment.Origin.AUTO_PAY and failed:
        return urlencode({"failed_charge": str(failed[0])})
    pairs = [("invoice", a.invoice.number) for a in allocations if a.invoice_id]
    pairs += [("order", a.order.number) for a in allocations if a.order_id]
    return urlencode(pairs)


def _status_payload(request, payment: Payment, message: str = "") -> dict:
    payload = {
        "status": payment.status,
        "label": payment.get_status_display(),
        "final": payment.status in payments.FINAL,
        "message": message or payments.failure_reason(payment),
        "redirect": reverse("billing:pay_confirm", args=[payment.public_id]),
    }
    if payment.status == Payment.Status.REQUIRES_ACTION and _can_pay(request):
        try:
            payload["client_secret"] = payments.payment_client_secret(payment=payment)
        except StripeUnavailable:
            payload["message"] = payments.unavailable_message()
    return payload


@module_view(Module.BILLING)
def pay_status(request, payment_id):
    """GET: the payment's status as JSON. POST (finance): move it on — sync with Stripe, charge
    the new card Stripe.js just saved, or retry a start Stripe did not answer."""
    payment = _payment_for(request, payment_id)
    if request.method != "POST":
        return JsonResponse(_status_payload(request, payment))
    contact = check_action(request, Action.PAY, changes=False)
    action = request.POST.get("action", "sync")
    message = ""
    try:
        if action == "card":
            known = request.session.get(SESSION_PAY_SETUP_INTENTS, {})
            setup_intent_id = request.POST.get("setup_intent", "")
            if not setup_intent_id or known.get(str(payment.public_id)) != setup_intent_id:
                raise payments.PaymentError(
                    _("This card form has expired. Please enter the card again.")
                )
            payments.payment_charge_new_card(
                contact=contact, payment=payment, setup_intent_id=setup_intent_id
            )
        elif action == "retry":
            if payment.payment_method_id is not None and not payment.stripe_payment_intent_id:
                payments.payment_charge(payment=payment, payment_method=payment.payment_method)
        elif action == "error":
            # Stripe.js refused in the browser (card declined, 3-D Secure cancelled).
            message = decline_reason(request.POST.get("code", ""))
            payments.payment_sync(payment=payment)
        else:
            payments.payment_sync(payment=payment)
    except payments.PaymentError as error:
        message = error.message
    except StripeUnavailable:
        message = payments.unavailable_message()
    payment.refresh_from_db()
    if payment.status == Payment.Status.SUCCEEDED and request.POST.get("make_default") == "1":
        payments.payment_make_default_method(contact=contact, payment=payment)
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse(_status_payload(request, payment, message))
    if message:
        messages.error(request, message)
    return redirect(_confirm_url(payment, make_default=request.POST.get("make_default") == "1"))


# --- History ------------------------------------------------------------------------------------


class PaymentListView(ModuleViewMixin, SingleTableMixin, FilterView):
    module = Module.BILLING
    model = Payment
    table_class = PaymentTable
    filterset_class = PaymentFilter
    template_name = "billing/payment_list.html"

    def get_queryset(self):
        return (
            super()
            .get_queryset()
            .select_related("paid_by", "payment_method")
            .prefetch_related(_allocations())
        )


@module_view(Module.BILLING)
def payment_detail(request, payment_id):
    payment = _payment_for(request, payment_id)
    refunds = list(
        InvoiceAdjustment.objects.filter(
            reference=str(payment.public_id), kind=InvoiceAdjustment.Kind.REFUND
        )
        .select_related("invoice")
        .order_by("created_at", "pk")
    )
    context = {
        "payment": payment,
        "allocations": list(payment.allocations.all()),
        "refunds": refunds,
        "badge": status_badge(payment),
        "failure": payments.failure_reason(payment),
    }
    return render(request, "billing/payment_detail.html", context)


@module_view(Module.BILLING)
def payment_receipt(request, payment_id):
    payment = get_for(
        request,
        Payment.objects.succeeded().select_related("organization", "payment_method", "paid_by"),
        public_id=payment_id,
    )
    data = receipt_pdf(payment, language=payment.organization.language)
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="receipt-{str(payment.public_id)[:8]}.pdf"'
    )
    return response
