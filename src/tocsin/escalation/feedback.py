""" "Was this page actionable?" (issue 13, alert noise): the answers and who may give them.

- `page_feedback_give(page=…)`: the paged person answers about one of their pages (from
  the page's signed link `/p/<token>/`, the incident page, or
  `POST /api/v1/pages/{id}/feedback`). Nobody else may answer for them.
- `page_feedback_give(incident=…)` without a page: a staff member answers about the
  incident's paging as a whole (the incident page, or
  `POST /api/v1/incidents/{ref}/page-feedback`). Only for an incident that paged someone.

One answer per person per page (or per incident, without a page); answering again
replaces the answer. Each new or changed answer writes an internal PAGE timeline entry
(`data["feedback"]`) in the same transaction; the same answer again changes nothing.
Reports read the answers (reports/noise.py); docs/alert-noise.md defines the rates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from tocsin.accounts.models import User
from tocsin.accounts.permissions import Action, can
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.core.errors import Conflict, Forbidden, Invalid, NotFound
from tocsin.escalation.models import FEEDBACK_NOTE_MAX, ClimbState, Page, PageFeedback
from tocsin.incidents.models import EntryKind, Incident
from tocsin.incidents.timeline import timeline_append


@dataclass(frozen=True)
class FeedbackResult:
    feedback: PageFeedback
    changed: bool  # False: the same answer was already there (nothing written)
    created: bool


def clean_note(note: Any) -> str:
    if note is None:
        return ""
    if not isinstance(note, str) or "\x00" in note:
        raise Invalid("note", "must be text without NUL characters")
    note = note.strip()
    if len(note) > FEEDBACK_NOTE_MAX:
        raise Invalid("note", f"must be at most {FEEDBACK_NOTE_MAX} characters")
    return note


def clean_actionable(value: Any) -> bool:
    """A yes/no from a form or JSON: True, False, "yes", "no" (nothing else)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("yes", "no"):
        return value.strip().lower() == "yes"
    raise Invalid("actionable", "must be yes or no")


def may_answer_for_incident(user: User | Any) -> bool:
    """Staff may answer about an incident's paging as a whole."""
    return bool(user is not None and can(user, Action.DESK_VIEW))


def check_page_answerer(page: Page, user: User | Any) -> None:
    """Only the paged person answers about a page (others: 403; a reporter: 404)."""
    if user is None or not can(user, Action.DESK_VIEW):
        raise NotFound("no such page")
    if page.person_id != user.pk:
        raise Forbidden("only the person who was paged may answer about this page")


def _who(user: User) -> str:
    return user.display_name or user.username


@transaction.atomic
def page_feedback_give(
    *,
    person: User,
    actor: Actor,
    actionable: Any,
    note: Any = "",
    page: Page | None = None,
    incident: Incident | None = None,
) -> FeedbackResult:
    """Record (or change) `person`'s answer about `page`, or about `incident`'s paging
    when no page is given. Checks who may answer; one transaction with its timeline
    entry."""
    yes = clean_actionable(actionable)
    text = clean_note(note)
    if page is not None:
        check_page_answerer(page, person)
        incident = Incident.objects.get(pk=page.incident_id)
    else:
        if incident is None:
            raise Invalid("page", "name a page or an incident")
        if not may_answer_for_incident(person):
            raise NotFound(f"no incident {incident.ref}")
        if not Page.objects.filter(incident=incident).exists():
            raise Conflict(f"{incident.ref} paged nobody: there is no paging to judge")
    # Serialise answers of one person on one incident (and the timeline beside them).
    incident = Incident.objects.select_for_update(of=("self",)).get(pk=incident.pk)
    found = PageFeedback.objects.select_for_update().filter(
        person=person, incident=incident, page=page
    )
    current = found.first()
    at = now()
    created = current is None
    if current is not None and current.actionable == yes and current.note == text:
        return FeedbackResult(feedback=current, changed=False, created=False)
    if current is None:
        try:
            with transaction.atomic():
                current = PageFeedback.objects.create(
                    page=page, incident=incident, person=person, actionable=yes, note=text, at=at
                )
        except IntegrityError:  # the same person's other request won the race
            raise Conflict("this answer was just given; reload and try again") from None
    else:
        current.actionable, current.note, current.at = yes, text, at
        current.save(update_fields=["actionable", "note", "at"])
    answer = "actionable" if yes else "not actionable"
    if page is not None:
        what = f"the page at {page.created_at:%H:%M} UTC" + (
            f" (via {page.via})" if page.via else ""
        )
    else:
        what = "the paging of this incident"
    verb = "said" if created else "changed their answer:"
    line = f"{_who(person)} {verb} {what} was {answer}."
    timeline_append(
        incident=incident,
        kind=EntryKind.PAGE,
        actor=actor,
        text=f"{line}\n{text}" if text else line,
        data={"feedback": current.pk, "page": page.pk if page else None, "actionable": yes},
    )
    return FeedbackResult(feedback=current, changed=True, created=created)


# --- reads ------------------------------------------------------------------------------------


def answerable_pages(person: User, incident: Incident) -> list[Page]:
    """The person's own pages on the incident (newest first), not responder requests."""
    return list(
        Page.objects.filter(incident=incident, person=person)
        .exclude(escalation__state=ClimbState.RESPONDERS)
        .order_by("-created_at", "-pk")[:10]
    )


def answers_of(person: User, incident: Incident) -> dict[int | None, PageFeedback]:
    """The person's answers on the incident, by page id (None: about the incident)."""
    return {fb.page_id: fb for fb in PageFeedback.objects.filter(person=person, incident=incident)}


def feedback_json(fb: PageFeedback) -> dict[str, Any]:
    return {
        "id": fb.pk,
        "page": fb.page_id,
        "incident": f"INC-{fb.incident.number}",
        "person": fb.person.username,
        "actionable": fb.actionable,
        "note": fb.note,
        "at": fb.at,
    }
