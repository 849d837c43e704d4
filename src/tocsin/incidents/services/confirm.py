"""The reporter's confirmation: the signed link in the resolution mail, confirm or reopen."""

from __future__ import annotations

import datetime as dt

from django.core.signing import BadSignature, SignatureExpired, TimestampSigner
from django.db import transaction

from tocsin.accounts.permissions import Action, can
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.core.errors import Conflict, Forbidden, Invalid
from tocsin.incidents import sla
from tocsin.incidents.lifecycle import transition
from tocsin.incidents.models import (
    EntryKind,
    Incident,
    Status,
    TimelineEntry,
    Visibility,
)
from tocsin.incidents.services._common import (
    NOTE_MAX,
    _clean_text,
    _lock,
)
from tocsin.incidents.timeline import timeline_append

_SIGNER_SALT = "tocsin.incidents.confirm"
CONFIRM_MAX_AGE = dt.timedelta(days=30)


def _resolution_stamp(incident: Incident) -> str:
    """Identifies the current resolution: the last resolve time (to the microsecond) and
    the number of status changes so far, so a reopen and a new resolve void old links."""
    if incident.resolved_at is None:
        return "0"
    at = incident.resolved_at.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
    transitions = TimelineEntry.objects.filter(
        incident_id=incident.pk, kind=EntryKind.TRANSITION
    ).count()
    return f"{at}.{transitions}"


def confirmation_token(incident: Incident) -> str:
    """A signed token for the reporter's confirm/reopen link, valid for this resolution."""
    return TimestampSigner(salt=_SIGNER_SALT).sign(
        f"{incident.number}:{_resolution_stamp(incident)}"
    )


def confirmation_check(incident: Incident, token: str) -> None:
    if not isinstance(token, str) or not token:
        raise Invalid("token", "this link is not valid")
    try:
        value = TimestampSigner(salt=_SIGNER_SALT).unsign(token, max_age=CONFIRM_MAX_AGE)
    except SignatureExpired:
        raise Invalid("token", "this link has expired") from None
    except BadSignature:
        raise Invalid("token", "this link is not valid") from None
    number, _, stamp = value.partition(":")
    if number != str(incident.number):
        raise Invalid("token", "this link is not valid")
    if stamp != _resolution_stamp(incident):
        raise Invalid("token", "this link belongs to an earlier resolution")


def _link_actor(incident: Incident) -> Actor:
    """Who confirms through the signed link: the reporter, recorded as via the link."""
    if incident.reporter is not None:
        return Actor(
            kind="user",
            user=incident.reporter,
            label=f"{incident.reporter.username} (confirmation link)",
        )
    return Actor.integration(f"{incident.reporter_display} (confirmation link)")


@transaction.atomic
def incident_confirm(
    *,
    incident: Incident,
    actor: Actor | None = None,
    accept: bool,
    note: str = "",
    token: str = "",
) -> Incident:
    """The reporter confirms the resolution (closes) or says it is not fixed (reopens).

    Allowed for the reporter, or anyone holding the signed link from the resolution mail
    (then `actor` may be omitted: the entry is recorded as the reporter via the link).
    """
    if not token and (actor is None or not can(actor.user, Action.INCIDENT_CONFIRM, incident)):
        raise Forbidden("only the reporter may confirm or reopen this incident")
    note = (
        _clean_text("note", note, required=not accept, limit=NOTE_MAX) if note or not accept else ""
    )
    incident = _lock(incident)
    if token:
        confirmation_check(incident, token)
    # Without an actor there is a token (checked above): the entry is the link's holder.
    actor = actor if actor is not None else _link_actor(incident)
    if incident.status != Status.RESOLVED:
        raise Conflict(
            f"only a resolved incident can be confirmed or reopened; this one is {incident.status}"
        )
    at = now()
    action = "close" if accept else "reopen"
    if accept:
        incident.closed_at = at
    else:
        sla.sla_reopen(incident, at)
    incident.updated_at = at
    incident.save()
    timeline_append(
        incident=incident,
        kind=EntryKind.CONFIRMATION,
        actor=actor,
        visibility=Visibility.PUBLIC,
        text=note,
        data={"accepted": accept},
    )
    transition(
        incident,
        action,
        actor=actor,
        visibility=Visibility.PUBLIC,
        note="Confirmed by the reporter" if accept else "Reopened by the reporter",
    )
    return incident
