"""The shapes of incidents in the REST API (requests and replies).

Conventions: people are usernames; services, teams and categories are objects
`{"id": 3, "name": "Network"}` in replies and integer ids in requests; priorities are
"P1"…"P4" in replies and "P2" or 2 in requests; times are ISO 8601 with a zone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from ninja import Schema
from pydantic import AwareDatetime, BeforeValidator, ConfigDict, Field, WithJsonSchema

from tocsin.core.api import BodyId, InSchema, Ref, Text, Username, one_of
from tocsin.incidents.models import EntryKind, ResolutionCode, Source, Status, Visibility


def _priority(value: Any) -> Any:
    """Accept "P2", "p2", "2" and 2 (booleans are not numbers here)."""
    if isinstance(value, bool):
        raise ValueError("must be P1–P4 (or 1–4)")
    if isinstance(value, str):
        text = value.strip().upper().removeprefix("P")
        if text in ("1", "2", "3", "4"):
            return int(text)
        raise ValueError("must be P1–P4 (or 1–4)")
    if isinstance(value, int) and value in (1, 2, 3, 4):
        return value
    raise ValueError("must be P1–P4 (or 1–4)")


PriorityIn = Annotated[
    int,
    BeforeValidator(_priority),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "enum": [1, 2, 3, 4]},
                {"type": "string", "pattern": "^[Pp]?[1-4]$"},
            ],
            "description": '"P1"…"P4" or 1…4',
        }
    ),
]
LEVELS = [1, 2, 3, 4]
Level = Annotated[
    int,
    Field(
        ge=1,
        le=4,
        strict=True,
        description="1 (highest) to 4 (lowest)",
        json_schema_extra={"enum": LEVELS},
    ),
]
SupportLevel = Annotated[int, Field(ge=1, le=3, strict=True)]
ShortText = Annotated[Text, Field(max_length=500)]
LongText = Annotated[Text, Field(max_length=50_000)]
NonEmptyLongText = Annotated[Text, Field(min_length=1, max_length=50_000)]
Title = Annotated[Text, Field(min_length=1, max_length=200)]
SourceName = Annotated[Text, one_of(Source.values, "where the incident came from")]
VisibilityName = Annotated[Text, one_of(Visibility.values)]


# --- replies ------------------------------------------------------------------------------


class SlaTargetOut(Schema):
    due_at: datetime | None
    met_at: datetime | None
    breached: bool
    remaining_seconds: int | None = Field(
        description="Working seconds left (negative once breached); null once met"
    )
    paused: bool


class SlaOut(Schema):
    response: SlaTargetOut
    resolution: SlaTargetOut


# The desk's own fields: a reporter's reply leaves them out (api.REPORTER_OMITS).
STAFF_ONLY = "; omitted for reporters"


class IncidentOut(Schema):
    id: int = Field(description="The incident number (42 for INC-42)")
    number: str = Field(description='"INC-42"')
    title: str
    description: str
    status: Annotated[str, one_of(Status.values)]
    source: Annotated[str, one_of(Source.values)]
    impact: Annotated[int, one_of(LEVELS, "1 (highest) to 4 (lowest)" + STAFF_ONLY)] = None  # type: ignore[assignment]
    urgency: Annotated[int, one_of(LEVELS, "1 (highest) to 4 (lowest)" + STAFF_ONLY)] = None  # type: ignore[assignment]
    priority: Annotated[str, one_of(["P1", "P2", "P3", "P4"], STAFF_ONLY.strip("; "))] = None  # type: ignore[assignment]
    priority_override_reason: str = Field(None, description=STAFF_ONLY.strip("; "))  # type: ignore[assignment]
    category: Ref | None = Field(None, description="{id, name} of the category" + STAFF_ONLY)
    subcategory: Ref | None = Field(None, description="{id, name} of the subcategory" + STAFF_ONLY)
    service: Ref | None
    affected_services: list[Ref]
    assignee: str | None = Field(None, description="username" + STAFF_ONLY)
    team: Ref | None = Field(None, description=STAFF_ONLY.strip("; "))
    support_level: Annotated[int, one_of([1, 2, 3], STAFF_ONLY.strip("; "))] = None  # type: ignore[assignment]
    reporter: str | None = Field(description="username, or null for an outside reporter")
    reporter_name: str
    reporter_email: str
    reported_at: datetime
    detected_at: datetime | None = Field(None, description=STAFF_ONLY.strip("; "))
    impact_started_at: datetime | None = Field(None, description=STAFF_ONLY.strip("; "))
    acknowledged_at: datetime | None = Field(None, description=STAFF_ONLY.strip("; "))
    mitigated_at: datetime | None = Field(
        None, description="When the impact stopped (first time only); " + STAFF_ONLY.strip("; ")
    )
    acknowledged_by: str | None = Field(
        None,
        description="username of who holds the current acknowledgement; " + STAFF_ONLY.strip("; "),
    )
    resolved_at: datetime | None
    closed_at: datetime | None
    resolution_code: Annotated[str, one_of(["", *ResolutionCode.values], '"" until resolved')]
    resolution_notes: str
    duplicate_of: str | None = Field(description='"INC-7" when merged into INC-7')
    allowed_actions: list[str] = Field(description="What the caller may do now")
    sla: SlaOut = Field(None, description=STAFF_ONLY.strip("; "))  # type: ignore[assignment]
    chat_url: str = Field(None, description="war-room chat link" + STAFF_ONLY)  # type: ignore[assignment]
    video_url: str = Field(None, description="war-room video link" + STAFF_ONLY)  # type: ignore[assignment]


class IncidentList(Schema):
    items: list[IncidentOut]
    count: int


class ActorOut(Schema):
    kind: Annotated[str, one_of(["user", "token", "integration", "system"])] = Field(
        description='user, token, integration (also a note by email: "by email from …") or system'
    )
    username: str | None
    label: str


class TimelineEntryOut(Schema):
    id: int
    kind: Annotated[str, one_of(EntryKind.values)]
    created_at: datetime
    visibility: Annotated[str, one_of(Visibility.values)]
    text: str
    data: dict[str, Any]
    actor: ActorOut
    redacted_at: datetime | None
    redacted_by: str | None
    pinned: bool = Field(description="A highlight of the incident (it feeds the postmortem)")
    pinned_at: datetime | None
    pinned_by: str | None = Field(description="username of who pinned it")


class TimelineList(Schema):
    items: list[TimelineEntryOut]
    count: int


class AttachmentOut(Schema):
    id: int
    filename: str
    content_type: str
    size: int
    visibility: Annotated[str, one_of(Visibility.values)]
    uploaded_by: str | None
    uploaded_at: datetime
    url: str


class AttachmentList(Schema):
    items: list[AttachmentOut]
    count: int


# --- requests ----------------------------------------------------------------------------


class IncidentCreateIn(InSchema):
    title: Title
    description: LongText = ""
    impact: Level = 3
    urgency: Level = 3
    source: SourceName = "api"
    service: BodyId | None = None
    affected_services: list[BodyId] = Field(default_factory=list, max_length=100)
    category: BodyId | None = None
    subcategory: BodyId | None = None
    assignee: Username | None = None
    team: BodyId | None = None
    support_level: SupportLevel = 1
    priority: PriorityIn | None = Field(None, description='"P2" or 2; needs priority_reason')
    priority_reason: ShortText = ""
    detected_at: AwareDatetime | None = None
    impact_started_at: AwareDatetime | None = None
    reporter: Username | None = Field(None, description="username (staff only)")
    reporter_name: Annotated[Text, Field(max_length=150)] = ""
    reporter_email: Annotated[Text, Field(max_length=254)] = ""


class IncidentPatchIn(InSchema):
    """Triage. Send only the fields to change; null clears a link (service, category,
    subcategory, assignee, team) or returns the priority to the matrix."""

    title: Title | None = None
    description: LongText | None = None
    source: SourceName | None = None
    service: BodyId | None = None
    affected_services: list[BodyId] | None = Field(None, max_length=100)
    category: BodyId | None = None
    subcategory: BodyId | None = None
    impact: Level | None = None
    urgency: Level | None = None
    priority: PriorityIn | None = None
    priority_reason: ShortText = ""
    detected_at: AwareDatetime | None = None
    impact_started_at: AwareDatetime | None = None
    assignee: Username | None = None
    team: BodyId | None = None
    note: LongText = ""


class ActionIn(InSchema):
    note: LongText = ""


def _required_in_schema(*names: str) -> Any:
    """Model config that marks fields required in the OpenAPI schema which the service
    checks itself (a missing one is its 422 naming the field, as for an empty one)."""

    def extra(schema: dict[str, Any]) -> None:
        schema["required"] = sorted({*schema.get("required", []), *names})
        for name in names:
            schema["properties"][name].pop("default", None)

    return ConfigDict(extra="forbid", json_schema_extra=extra)


class ResolveIn(InSchema):
    model_config = _required_in_schema("resolution_code", "resolution_notes")

    note: LongText = ""
    resolution_code: Annotated[
        Text, Field(max_length=30), one_of(ResolutionCode.values, "required")
    ] = ""
    resolution_notes: Annotated[
        Text, Field(max_length=50_000, description="required", json_schema_extra={"minLength": 1})
    ] = ""


class EscalateIn(InSchema):
    model_config = _required_in_schema("note")

    support_level: SupportLevel | None = None
    team: BodyId | None = None
    note: Annotated[Text, Field(max_length=50_000, json_schema_extra={"minLength": 1})] = ""


class MergeIn(InSchema):
    into: Annotated[Text, Field(max_length=20, description='"INC-7" or 7')] | int
    note: LongText = ""


class ConfirmIn(InSchema):
    accept: bool
    note: LongText = ""
    token: Annotated[Text, Field(max_length=500)] = ""


class NoteIn(InSchema):
    text: NonEmptyLongText
    visibility: VisibilityName | None = Field(None, description="internal or public")
