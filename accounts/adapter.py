from allauth.account.adapter import DefaultAccountAdapter

from portal.emails import email_queue_rendered


class AccountAdapter(DefaultAccountAdapter):
    """No open sign-up; allauth's e-mails go through the portal's outbox."""

    def is_open_for_signup(self, request) -> bool:
        # Access comes from order documents and invitations, which open sign-up for one e-mail.
        return bool(request and request.session.get("invitation_signup_email"))

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
