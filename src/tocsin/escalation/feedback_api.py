"""REST API for "was this page actionable?" (escalation/feedback.py has the rules).

- `POST /api/v1/pages/{id}/feedback` `{"actionable": true, "note": "…"}`: the paged
  person's answer about one of their pages (201 when new, 200 when changed or the same
  again). Anyone else on staff gets 403; a reporter 404.
- `POST /api/v1/incidents/{ref}/page-feedback` `{"actionable": false, "note": "…"}`: a
  staff member's answer about the incident's paging as a whole (409 when it paged nobody).
- `GET /api/v1/incidents/{ref}/page-feedback`: every answer on the incident (staff).

Page ids are those of `GET /api/v1/incidents/{ref}/pages`.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import Field, StrictBool

from tocsin.accounts.api_auth import user_from_request
from tocsin.core.api import ERRORS, Id, IncidentRef, InSchema, Text, actor_from_request
from tocsin.core.errors import NotFound
from tocsin.escalation import feedback
from tocsin.escalation.models import FEEDBACK_NOTE_MAX, Page, PageFeedback
from tocsin.incidents.selectors import access_incident

router = Router(tags=["paging"])


class FeedbackIn(InSchema):
    actionable: StrictBool = Field(description="true: the page needed a person")
    note: Annotated[Text, Field(max_length=FEEDBACK_NOTE_MAX)] = ""


class FeedbackOut(Schema):
    id: int
    page: int | None = Field(description="the page's id; null: about the incident's paging")
    incident: str = Field(description='"INC-42"')
    person: str = Field(description="username")
    actionable: bool
    note: str
    at: dt.datetime


class FeedbackList(Schema):
    items: list[FeedbackOut]
    count: int


@router.post("/pages/{page_id}/feedback", response={200: FeedbackOut, 201: FeedbackOut, **ERRORS})
def page_feedback(request: HttpRequest, page_id: Id, payload: FeedbackIn) -> Any:
    """The paged person answers "was this page actionable?" (answering again changes it)."""
    user = user_from_request(request)
    page = Page.objects.filter(pk=page_id).first()
    if page is None or not feedback.may_answer_for_incident(user):
        raise NotFound("no such page")
    result = feedback.page_feedback_give(
        person=user,
        actor=actor_from_request(request),
        actionable=payload.actionable,
        note=payload.note,
        page=page,
    )
    return (201 if result.created else 200), feedback.feedback_json(result.feedback)


@router.post(
    "/incidents/{ref}/page-feedback", response={200: FeedbackOut, 201: FeedbackOut, **ERRORS}
)
def incident_feedback(request: HttpRequest, ref: IncidentRef, payload: FeedbackIn) -> Any:
    """A staff member answers "was paging for this incident actionable?"."""
    user = user_from_request(request)
    incident = access_incident(user, ref)
    if not feedback.may_answer_for_incident(user):
        raise NotFound(f"no incident {incident.ref}")
    result = feedback.page_feedback_give(
        person=user,
        actor=actor_from_request(request),
        actionable=payload.actionable,
        note=payload.note,
        incident=incident,
    )
    return (201 if result.created else 200), feedback.feedback_json(result.feedback)


@router.get("/incidents/{ref}/page-feedback", response={200: FeedbackList, **ERRORS})
def list_feedback(request: HttpRequest, ref: IncidentRef) -> dict[str, Any]:
    user = user_from_request(request)
    incident = access_incident(user, ref)
    if not feedback.may_answer_for_incident(user):
        raise NotFound(f"no incident {incident.ref}")
    items = [
        feedback.feedback_json(fb)
        for fb in PageFeedback.objects.filter(incident=incident)
        .select_related("incident", "person")
        .order_by("at", "pk")
    ]
    return {"items": items, "count": len(items)}
