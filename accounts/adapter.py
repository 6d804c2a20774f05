from allauth.account.adapter import DefaultAccountAdapter
from django import forms
from django.utils.translation import gettext as _

from portal.emails import email_queue_rendered


class AccountAdapter(DefaultAccountAdapter):
    """No open sign-up; allauth's e-mails go through the portal's outbox."""

    def is_open_for_signup(self, request) -> bool:
        # Access comes from order documents and invitations, which open sign-up for one e-mail.
        return bool(request and request.session.get("invitation_signup_email"))

    def clean_email(self, email: str) -> str:
        email = super().clean_email(email)
        invited = self.request.session.get("invitation_signup_email") if self.request else None
        signing_up = invited and self.request.resolver_match.url_name == "account_signup"
        if signing_up and email.lower() != invited.lower():
            raise forms.ValidationError(
                _("Sign up with the address the invitation was sent to: %(email)s.")
                % {"email": invited}
            )
        return email

    def send_mail(self, template_prefix, email, context) -> None:
        message = self.render_mail(template_prefix, email, context)
        html = ""
        for content, mimetype in getattr(message, "alternatives", []):
            if mimetype == "text/html":
                html = content
        email_queue_rendered(
            template=template_prefix.rsplit("/", 1)[-1],
            to=list(message.to),
            subject=message.subject,
            body_text=message.body,
            body_html=html,
        )
