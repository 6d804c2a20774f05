"""The Stripe webhook endpoint: the only csrf_exempt view of the portal (Stripe signs the
request instead; the signature is checked on the raw body before anything is read)."""

import logging

from django.http import HttpResponse, HttpResponseBadRequest
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from billing import stripe_client, webhooks

logger = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def stripe_webhook(request):
    try:
        event = stripe_client.webhook_event_construct(
            payload=request.body, signature=request.headers.get("Stripe-Signature", "")
        )
    except ValueError as error:
        logger.warning("Refused a Stripe webhook: %s", error)
        return HttpResponseBadRequest("Invalid signature or payload.")
    outcome = webhooks.webhook_process(event=event)
    return HttpResponse(outcome, content_type="text/plain")


stripe_webhook.module = "public"  # Stripe calls it; the signature is its authentication.
