"""Mail to the reporter, queued in the outbox inside the change's own transaction."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from tocsin.incidents.models import Incident
from tocsin.notify.models import OutboxMessage
from tocsin.notify.services import outbox_enqueue_email


def reporter_address(incident: Incident) -> str:
    if incident.reporter_id and incident.reporter.email:  # type: ignore[union-attr]
        return incident.reporter.email  # type: ignore[union-attr]
    return incident.reporter_email


def queue_resolution_mail(incident: Incident) -> OutboxMessage | None:
    """Tell the reporter the incident is resolved, with a signed confirm/reopen link."""
    from tocsin.incidents.services import confirmation_token

    address = reporter_address(incident)
    if not address:
        return None
    link = settings.BASE_URL + reverse(
        "confirm-link", kwargs={"ref": incident.ref, "token": confirmation_token(incident)}
    )
    days = settings.TOCSIN_AUTO_CLOSE_DAYS
    body = (
        f"Hello {incident.reporter_display},\n\n"
        f'Your incident {incident.ref} "{incident.title}" has been resolved.\n\n'
        f"Resolution: {incident.get_resolution_code_display()}\n"
        f"{incident.resolution_notes}\n\n"
        f"Is your problem solved? Confirm it or tell us it is not fixed here:\n{link}\n\n"
        f"If we hear nothing, the incident closes by itself in {days} days.\n\n"
        "— Tocsin\n"
    )
    return outbox_enqueue_email(
        recipient=address,
        subject=" ".join(f"[{incident.ref}] Resolved: {incident.title}".split()),
        body=body,
        incident=incident,
    )
