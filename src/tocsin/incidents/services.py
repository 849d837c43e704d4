"""Every write to an incident: one function per use case, one transaction each,
with its timeline entry written in the same transaction."""

from __future__ import annotations

import datetime as dt
import mimetypes
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.signing import BadSignature, SignatureExpired, TimestampSigner
from django.core.validators import validate_email
from django.db import transaction
from django.utils.text import get_valid_filename

from tocsin.accounts.models import Team, User
from tocsin.accounts.permissions import Action, can, require_for
from tocsin.catalog.models import Category, Service
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.core.errors import Conflict, Forbidden, Invalid
from tocsin.core.models import Counter
from tocsin.incidents import sla
from tocsin.incidents.lifecycle import check_action, target_status, transition
from tocsin.incidents.models import (
    Attachment,
    EntryKind,
    Incident,
    Level,
    ResolutionCode,
    Source,
    Status,
    TimelineEntry,
    Visibility,
)
from tocsin.incidents.notifications import queue_resolution_mail
from tocsin.incidents.priority import priority_for
from tocsin.incidents.timeline import timeline_append

TITLE_MAX = 200
DESCRIPTION_MAX = 50_000
NOTE_MAX = 20_000


def _clean_text(field: str, value: str, *, required: bool, limit: int) -> str:
    if not isinstance(value, str):
        raise Invalid(field, "must be text")
    if "\x00" in value:
        raise Invalid(field, "must not contain NUL characters")
    value = value.strip()
    if required and not value:
        raise Invalid(field, "must not be empty")
    if len(value) > limit:
        raise Invalid(field, f"must be at most {limit} characters")
    return value


def _one_line(field: str, value: str) -> str:
    """Titles travel into mail subjects and lists: no control characters, one line."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in value).split())


EARLIEST_MOMENT = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def _check_moment(field: str, value: dt.datetime | None) -> dt.datetime | None:
    """A past moment an incident refers to: aware, not before 2000, not in the future."""
    if value is None:
        return None
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        raise Invalid(field, "must be a date and time with a time zone")
    if value < EARLIEST_MOMENT or value > now() + dt.timedelta(hours=1):
        raise Invalid(field, "must lie between 2000-01-01 and now")
    return value


def _check_email(field: str, value: str) -> str:
    value = value.strip()
    if not value:
        return ""
    try:
        validate_email(value)
    except DjangoValidationError:
        raise Invalid(field, "must be an email address") from None
    return value


def _check_level(field: str, value: Any) -> int:
    if isinstance(value, bool) or value not in Level.values:
        raise Invalid(field, "must be an integer from 1 (highest) to 4 (lowest)")
    return int(value)


def _check_categories(category: Category | None, subcategory: Category | None) -> None:
    if category is not None and category.parent_id is not None:
        raise Invalid("category", f"{category.name!r} is a subcategory, not a category")
    if subcategory is not None:
        if subcategory.parent_id is None:
            raise Invalid("subcategory", f"{subcategory.name!r} is a category, not a subcategory")
        if category is None or subcategory.parent_id != category.pk:
            raise Invalid("subcategory", f"{subcategory.name!r} does not belong to the category")


def _check_assignee(assignee: User | None) -> None:
    if assignee is not None and not can(assignee, Action.INCIDENT_BE_ASSIGNED):
        raise Invalid("assignee", f"{assignee.username!r} is not an active staff member")


def _display(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, User):
        return value.username
    if isinstance(value, (Team, Service, Category)):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value


def _lock(incident: Incident) -> Incident:
    """Re-read the incident inside the transaction (row-locked on PostgreSQL)."""
    return Incident.objects.select_for_update().get(pk=incident.pk)


@transaction.atomic
def incident_create(
    *,
    actor: Actor,
    title: str,
    description: str = "",
    impact: int = Level.MEDIUM,
    urgency: int = Level.MEDIUM,
    source: str = Source.PORTAL,
    reporter: User | None = None,
    reporter_name: str = "",
    reporter_email: str = "",
    service: Service | None = None,
    affected_services: Iterable[Service] = (),
    category: Category | None = None,
    subcategory: Category | None = None,
    assignee: User | None = None,
    team: Team | None = None,
    support_level: int = 1,
    priority: int | None = None,
    priority_reason: str = "",
    detected_at: dt.datetime | None = None,
    impact_started_at: dt.datetime | None = None,
    reported_at: dt.datetime | None = None,
    related_to: Incident | None = None,
) -> Incident:
    """File a new incident. Reporters may file; only staff may triage while filing.

    `related_to` links a follow-up to an earlier (e.g. closed) incident.
    """
    user = actor.user
    title = _one_line("title", _clean_text("title", title, required=True, limit=TITLE_MAX))
    description = _clean_text("description", description, required=False, limit=DESCRIPTION_MAX)
    reporter_email = _check_email("reporter_email", reporter_email)
    reporter_name = _one_line(
        "reporter_name", _clean_text("reporter_name", reporter_name, required=False, limit=150)
    )
    detected_at = _check_moment("detected_at", detected_at)
    impact_started_at = _check_moment("impact_started_at", impact_started_at)
    impact = _check_level("impact", impact)
    urgency = _check_level("urgency", urgency)
    if source not in Source.values:
        raise Invalid("source", f"must be one of {', '.join(Source.values)}")
    staff_fields = assignee or team or priority is not None or support_level != 1
    if staff_fields:
        require_for(actor, Action.INCIDENT_TRIAGE, what="assign or override priority")
    if (reporter is not None and reporter != user) or reporter_name or reporter_email:
        require_for(actor, Action.INCIDENT_TRIAGE, what="file incidents for someone else")
    if support_level not in (1, 2, 3):
        raise Invalid("support_level", "must be 1, 2 or 3")
    _check_categories(category, subcategory)
    _check_assignee(assignee)
    outside_reporter = bool(reporter_name or reporter_email)
    if reporter is None and actor.kind in ("user", "token") and not outside_reporter:
        reporter = user
    matrix_priority = priority_for(impact, urgency)
    if priority is not None:
        if priority not in (1, 2, 3, 4):
            raise Invalid("priority", "must be 1–4 (P1–P4)")
        if priority != matrix_priority and not priority_reason.strip():
            raise Invalid("priority_reason", "a manual priority needs a reason")
    else:
        priority = matrix_priority
    at = reported_at or now()
    incident = Incident(
        number=Counter.next_value("incident"),
        title=title,
        description=description,
        source=source,
        reporter=reporter,
        reporter_name=reporter_name.strip(),
        reporter_email=reporter_email.strip(),
        service=service,
        category=category,
        subcategory=subcategory,
        impact=impact,
        urgency=urgency,
        priority=priority,
        priority_override_reason=priority_reason.strip() if priority != matrix_priority else "",
        assignee=assignee,
        team=team,
        support_level=support_level,
        reported_at=at,
        detected_at=detected_at,
        impact_started_at=impact_started_at,
        updated_at=at,
        related_to=related_to,
    )
    sla.sla_start(incident, at)
    incident.save()
    if affected_services:
        incident.affected_services.set(affected_services)
    timeline_append(
        incident=incident,
        kind=EntryKind.CREATED,
        actor=actor,
        visibility=Visibility.PUBLIC,
        text=f"Reported via {Source(source).label.lower()}",
        data={
            "priority": f"P{priority}",
            "impact": impact,
            "urgency": urgency,
            **(
                {"priority_override": incident.priority_override_reason}
                if incident.priority_override_reason
                else {}
            ),
        },
    )
    return incident


# Fields staff may change directly, and how their values are checked.
TRIAGE_FIELDS = (
    "title",
    "description",
    "source",
    "service",
    "affected_services",
    "category",
    "subcategory",
    "impact",
    "urgency",
    "detected_at",
    "impact_started_at",
)


@transaction.atomic
def incident_update(
    *, incident: Incident, actor: Actor, changes: dict[str, Any], priority_reason: str = ""
) -> Incident:
    """Triage: change fields, each change on the timeline as old → new.

    `changes` may hold any of TRIAGE_FIELDS plus `priority` (a manual override, which
    needs `priority_reason`; `None` returns to the matrix).
    """
    require_for(actor, Action.INCIDENT_TRIAGE, what="triage incidents")
    incident = _lock(incident)
    if incident.status == Status.CLOSED:
        raise Conflict("a closed incident cannot be changed; reopen is not possible either")
    unknown = set(changes) - set(TRIAGE_FIELDS) - {"priority"}
    if unknown:
        raise Invalid(sorted(unknown)[0], "cannot be changed here")
    at = now()
    entries: list[tuple[str, Any, Any]] = []

    def setfield(name: str, value: Any) -> None:
        old = getattr(incident, name)
        if old != value:
            setattr(incident, name, value)
            entries.append((name, _display(old), _display(value)))

    if "title" in changes:
        setfield(
            "title",
            _one_line(
                "title", _clean_text("title", changes["title"], required=True, limit=TITLE_MAX)
            ),
        )
    if "description" in changes:
        setfield(
            "description",
            _clean_text(
                "description", changes["description"], required=False, limit=DESCRIPTION_MAX
            ),
        )
    if "source" in changes:
        if changes["source"] not in Source.values:
            raise Invalid("source", f"must be one of {', '.join(Source.values)}")
        setfield("source", changes["source"])
    if "service" in changes:
        setfield("service", changes["service"])
    for name in ("detected_at", "impact_started_at"):
        if name in changes:
            setfield(name, _check_moment(name, changes[name]))
    category = changes.get("category", incident.category)
    subcategory = changes.get("subcategory", incident.subcategory)
    if (
        "category" in changes
        and "subcategory" not in changes
        and (
            (
                subcategory is not None
                and category is not None
                and subcategory.parent_id != category.pk
            )
            or category is None
        )
    ):
        subcategory = None
    _check_categories(category, subcategory)
    setfield("category", category)
    setfield("subcategory", subcategory)
    old_priority = incident.priority
    if "impact" in changes:
        setfield("impact", _check_level("impact", changes["impact"]))
    if "urgency" in changes:
        setfield("urgency", _check_level("urgency", changes["urgency"]))
    matrix_priority = priority_for(incident.impact, incident.urgency)
    if "priority" in changes:
        wanted = changes["priority"]
        if wanted is None:
            incident.priority = matrix_priority
            incident.priority_override_reason = ""
        else:
            if wanted not in (1, 2, 3, 4) or isinstance(wanted, bool):
                raise Invalid("priority", "must be 1–4 (P1–P4)")
            reason = priority_reason.strip()
            if wanted != matrix_priority and not reason:
                raise Invalid("priority_reason", "a manual priority needs a reason")
            incident.priority = wanted
            incident.priority_override_reason = reason if wanted != matrix_priority else ""
    elif not incident.priority_override_reason:
        incident.priority = matrix_priority
    if "affected_services" in changes:
        old_ids = sorted(incident.affected_services.values_list("name", flat=True))
        new_services = list(changes["affected_services"])
        new_ids = sorted(s.name for s in new_services)
        if old_ids != new_ids:
            incident.affected_services.set(new_services)
            entries.append(("affected_services", old_ids, new_ids))
    for name, old, new in entries:
        timeline_append(
            incident=incident,
            kind=EntryKind.FIELD,
            actor=actor,
            data={"field": name, "old": old, "new": new},
        )
    if incident.priority != old_priority:
        sla.sla_reprioritise(incident, at, old_priority=old_priority)
        timeline_append(
            incident=incident,
            kind=EntryKind.PRIORITY,
            actor=actor,
            text=incident.priority_override_reason,
            data={
                "old": f"P{old_priority}",
                "new": f"P{incident.priority}",
                "override": bool(incident.priority_override_reason),
            },
        )
    if entries or incident.priority != old_priority:
        incident.updated_at = at
        incident.save()
    return incident


@transaction.atomic
def incident_assign(
    *,
    incident: Incident,
    actor: Actor,
    assignee: User | None = None,
    team: Team | None = None,
    set_assignee: bool = True,
    set_team: bool = False,
    note: str = "",
) -> Incident:
    require_for(actor, Action.INCIDENT_ASSIGN, what="assign incidents")
    incident = _lock(incident)
    if incident.status == Status.CLOSED:
        raise Conflict("a closed incident cannot be reassigned")
    _check_assignee(assignee)
    data: dict[str, Any] = {}
    if set_assignee and incident.assignee_id != (assignee.pk if assignee else None):
        data["assignee"] = {"old": _display(incident.assignee), "new": _display(assignee)}
        incident.assignee = assignee
    if set_team and incident.team_id != (team.pk if team else None):
        data["team"] = {"old": _display(incident.team), "new": _display(team)}
        incident.team = team
    if not data:
        return incident
    incident.updated_at = now()
    incident.save(update_fields=["assignee", "team", "updated_at"])
    timeline_append(incident=incident, kind=EntryKind.ASSIGNMENT, actor=actor, text=note, data=data)
    return incident


@transaction.atomic
def incident_act(
    *,
    incident: Incident,
    actor: Actor,
    action: str,
    note: str = "",
    resolution_code: str = "",
    resolution_notes: str = "",
) -> Incident:
    """Acknowledge, unacknowledge, start, hold, resume, resolve, close or reopen."""
    check_action(action)
    require_for(actor, f"incident.{action}", incident, what=f"{action} incidents")
    note = _clean_text("note", note, required=False, limit=NOTE_MAX)
    incident = _lock(incident)
    new_status = target_status(incident.status, action)  # 409 before anything else
    at = now()
    fields = ["status", "updated_at", "ack_expires_at", *sla.SLA_FIELDS]
    incident.ack_expires_at = None  # any move ends the current acknowledgement's timer
    if action == "resolve":
        if resolution_code not in ResolutionCode.values:
            raise Invalid(
                "resolution_code", f"is required: one of {', '.join(ResolutionCode.values)}"
            )
        resolution_notes = _clean_text(
            "resolution_notes", resolution_notes, required=True, limit=NOTE_MAX
        )
        incident.resolution_code = resolution_code
        incident.resolution_notes = resolution_notes
        incident.resolved_at = at
        sla.sla_stop(incident, at)
        fields += ["resolution_code", "resolution_notes", "resolved_at", "acknowledged_at"]
    elif action == "acknowledge":
        if incident.acknowledged_at is None:
            incident.acknowledged_at = at
        timeout = incident.service.ack_timeout_minutes if incident.service_id else None
        if timeout:
            incident.ack_expires_at = at + dt.timedelta(minutes=timeout)
        sla.sla_meet_response(incident, at)
        fields.append("acknowledged_at")
    elif action == "start":
        sla.sla_meet_response(incident, at)
    elif action == "hold":
        sla.sla_pause(incident, at)
    elif action == "resume":
        sla.sla_resume(incident, at)
        sla.sla_meet_response(incident, at)
    elif action == "reopen":
        sla.sla_reopen(incident, at)
    elif action == "close":
        if resolution_code:
            if resolution_code not in ResolutionCode.values:
                raise Invalid(
                    "resolution_code", f"must be one of {', '.join(ResolutionCode.values)}"
                )
            incident.resolution_code = resolution_code
            fields.append("resolution_code")
        if resolution_notes:
            incident.resolution_notes = _clean_text(
                "resolution_notes", resolution_notes, required=False, limit=NOTE_MAX
            )
            fields.append("resolution_notes")
        incident.closed_at = at
        fields.append("closed_at")
    # acknowledged_at is the first acknowledgement, whichever action achieved it.
    if action in ("start", "resume", "resolve") and incident.acknowledged_at is None:
        incident.acknowledged_at = at
        fields.append("acknowledged_at")
    public = action in ("resolve", "close", "reopen")
    text = note
    if action == "resolve":
        text = f"{ResolutionCode(resolution_code).label}: {resolution_notes}"
        if note:
            text += f"\n\n{note}"
    incident.save(update_fields=list(dict.fromkeys(fields)))
    transition(
        incident,
        action,
        actor=actor,
        note=text,
        visibility=Visibility.PUBLIC if public else Visibility.INTERNAL,
    )
    assert incident.status == new_status
    if action == "resolve":
        # Committed with the resolve; the worker's outbox module sends it.
        queue_resolution_mail(incident)
        # A resolve of the incident resolves its open alerts (issue 3), same transaction.
        from tocsin.alerts.services import alerts_resolve_for_incident

        alerts_resolve_for_incident(incident=incident, actor=actor)
    return incident


@transaction.atomic
def incident_escalate(
    *,
    incident: Incident,
    actor: Actor,
    support_level: int | None = None,
    team: Team | None = None,
    note: str = "",
) -> Incident:
    """Functional escalation: raise the support level and/or hand to another team."""
    require_for(actor, Action.INCIDENT_ESCALATE, what="escalate incidents")
    note = _clean_text("note", note, required=True, limit=NOTE_MAX)
    incident = _lock(incident)
    if not incident.is_open:
        raise Conflict(f"only open incidents can be escalated; this one is {incident.status}")
    if support_level is None and team is None:
        raise Invalid("support_level", "give a higher support level, a team, or both")
    data: dict[str, Any] = {}
    if support_level is not None:
        if support_level not in (1, 2, 3):
            raise Invalid("support_level", "must be 1, 2 or 3")
        if support_level < incident.support_level:
            raise Invalid(
                "support_level",
                f"escalation raises the level; it is already {incident.support_level}",
            )
        if support_level != incident.support_level:
            data["support_level"] = {"old": incident.support_level, "new": support_level}
            incident.support_level = support_level
    if team is not None and team.pk != incident.team_id:
        data["team"] = {"old": _display(incident.team), "new": team.name}
        incident.team = team
        if incident.assignee_id and not team.members.filter(pk=incident.assignee_id).exists():
            data["assignee"] = {"old": _display(incident.assignee), "new": None}
            incident.assignee = None
    if not data:
        raise Conflict("the incident is already at that level and team")
    incident.updated_at = now()
    incident.save(update_fields=["support_level", "team", "assignee", "updated_at"])
    timeline_append(incident=incident, kind=EntryKind.ESCALATION, actor=actor, text=note, data=data)
    return incident


@transaction.atomic
def incident_add_note(
    *, incident: Incident, actor: Actor, text: str, visibility: str | None = None
) -> TimelineEntry:
    """A note: staff notes are internal unless made public; reporter comments are public."""
    user = actor.user
    staff = can(user, Action.TIMELINE_INTERNAL_ADD) or actor.kind in ("system", "integration")
    if not staff:
        require_for(actor, Action.INCIDENT_COMMENT, incident, what="comment on this incident")
    text = _clean_text("text", text, required=True, limit=NOTE_MAX)
    if visibility is None:
        visibility = Visibility.INTERNAL if staff else Visibility.PUBLIC
    if visibility not in Visibility.values:
        raise Invalid("visibility", "must be internal or public")
    if not staff and visibility != Visibility.PUBLIC:
        require_for(actor, Action.TIMELINE_INTERNAL_ADD, what="add internal notes")
    incident = _lock(incident)
    incident.updated_at = now()
    incident.save(update_fields=["updated_at"])
    return timeline_append(
        incident=incident, kind=EntryKind.NOTE, actor=actor, text=text, visibility=visibility
    )


def _sniff_type(upload: UploadedFile) -> str:
    declared = (upload.content_type or "").split(";")[0].strip().lower()
    guessed = mimetypes.guess_type(upload.name or "")[0] or ""
    return declared if declared and declared != "application/octet-stream" else guessed


_MAGIC: dict[str, tuple[bytes, ...]] = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "application/pdf": (b"%PDF-",),
    "application/zip": (b"PK\x03\x04", b"PK\x05\x06"),
    "application/gzip": (b"\x1f\x8b",),
}
_TEXT_TYPES = frozenset({"text/plain", "text/csv", "application/json"})


def _content_matches(content_type: str, upload: UploadedFile) -> bool:
    """The declared type must be what the bytes are (a page is not a PNG)."""
    upload.seek(0)
    head = upload.read(4096)
    upload.seek(0)
    if isinstance(head, str):
        head = head.encode()
    if content_type in _MAGIC:
        return head.startswith(_MAGIC[content_type])
    if content_type == "image/webp":
        return head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    if content_type in _TEXT_TYPES:
        if b"\x00" in head:
            return False
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            return exc.start >= len(head) - 3  # a character cut by the 4 KB window
        return True
    return True  # a type the administrator added: no signature known


@transaction.atomic
def incident_attach(
    *, incident: Incident, actor: Actor, upload: UploadedFile, visibility: str | None = None
) -> Attachment:
    user = actor.user
    staff = can(user, Action.TIMELINE_INTERNAL_ADD)
    if not staff:
        require_for(actor, Action.INCIDENT_COMMENT, incident, what="attach files to this incident")
    if visibility is None:
        visibility = Visibility.PUBLIC
    if visibility not in Visibility.values:
        raise Invalid("visibility", "must be internal or public")
    if not staff:
        if visibility == Visibility.INTERNAL and actor.kind in ("user", "token"):
            require_for(actor, Action.TIMELINE_INTERNAL_ADD, what="add internal attachments")
        visibility = Visibility.PUBLIC
    limit = settings.TOCSIN_ATTACHMENT_MAX_BYTES
    if upload.size is None or upload.size > limit:
        raise Invalid("file", f"is larger than the limit of {limit // (1024 * 1024)} MB")
    if upload.size == 0:
        raise Invalid("file", "is empty")
    content_type = _sniff_type(upload)
    if content_type not in settings.TOCSIN_ATTACHMENT_TYPES:
        raise Invalid(
            "file",
            f"type {content_type or 'unknown'!r} is not allowed; allowed: "
            + ", ".join(settings.TOCSIN_ATTACHMENT_TYPES),
        )
    if not _content_matches(content_type, upload):
        raise Invalid("file", f"the file's content is not {content_type}")
    filename = get_valid_filename((upload.name or "attachment").rsplit("/", 1)[-1])[:150]
    incident = _lock(incident)
    if incident.status == Status.CLOSED:
        raise Conflict("a closed incident takes no more attachments")
    at = now()
    attachment = Attachment(
        incident=incident,
        filename=filename,
        content_type=content_type,
        size=upload.size,
        uploaded_by=user,
        uploaded_at=at,
        visibility=visibility,
    )
    attachment.file.save(filename, upload, save=False)
    try:
        attachment.save()
        incident.updated_at = at
        incident.save(update_fields=["updated_at"])
        timeline_append(
            incident=incident,
            kind=EntryKind.ATTACHMENT,
            actor=actor,
            text=filename,
            visibility=visibility,
            data={"attachment": attachment.pk, "size": upload.size, "content_type": content_type},
        )
    except BaseException:
        # The rows roll back with the transaction; the stored file must go too.
        attachment.file.delete(save=False)
        raise
    return attachment


@transaction.atomic
def incident_merge(*, incident: Incident, into: Incident, actor: Actor, note: str = "") -> Incident:
    """Mark `incident` a duplicate of `into`: resolved as duplicate, linked, timeline on both."""
    require_for(actor, Action.INCIDENT_MERGE, what="merge incidents")
    if incident.pk == into.pk:
        raise Invalid("into", "an incident cannot be merged into itself")
    locked = {
        row.pk: row
        for row in Incident.objects.select_for_update()
        .filter(pk__in=[incident.pk, into.pk])
        .order_by("pk")
    }
    incident, into = locked[incident.pk], locked[into.pk]
    if not incident.is_open:
        raise Conflict(f"only open incidents can be merged; {incident.ref} is {incident.status}")
    if into.status == Status.CLOSED:
        raise Conflict(f"{into.ref} is closed; merge into an open incident")
    if into.duplicate_of_id:
        raise Conflict(f"{into.ref} is itself a duplicate; merge into the original")
    at = now()
    incident.duplicate_of = into
    incident.resolution_code = ResolutionCode.DUPLICATE
    incident.resolution_notes = f"Duplicate of {into.ref}"
    incident.resolved_at = at
    sla.sla_stop(incident, at)
    incident.save()
    transition(
        incident,
        "resolve",
        actor=actor,
        note=f"Merged into {into.ref}" + (f": {note}" if note else ""),
        visibility=Visibility.PUBLIC,
    )
    timeline_append(
        incident=incident,
        kind=EntryKind.MERGE,
        actor=actor,
        text=note,
        visibility=Visibility.PUBLIC,
        data={"into": into.ref},
    )
    into.updated_at = at
    into.save(update_fields=["updated_at"])
    timeline_append(
        incident=into,
        kind=EntryKind.MERGE,
        actor=actor,
        text=note,
        data={"from": incident.ref},
    )
    # The duplicate's open alerts follow it into the original (alerts/services.py).
    from tocsin.alerts.services import alerts_follow_merge

    alerts_follow_merge(incident=incident, into=into, actor=actor)
    return incident


@transaction.atomic
def timeline_redact(*, entry: TimelineEntry, actor: Actor) -> TimelineEntry:
    """An administrator blanks an entry's text; the fact and the redactor remain."""
    require_for(actor, Action.INCIDENT_REDACT, what="redact timeline entries")
    entry = TimelineEntry.objects.select_for_update().get(pk=entry.pk)
    if entry.redacted_at is not None:
        raise Conflict("this entry is already redacted")
    entry.text = ""
    entry.redacted_at = now()
    entry.redacted_by = actor.user
    entry.save(update_fields=["text", "redacted_at", "redacted_by"])
    return entry


# --- the reporter's confirmation link ---------------------------------------------

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
        if actor is None:
            actor = (
                Actor(
                    kind="user",
                    user=incident.reporter,
                    label=f"{incident.reporter.username} (confirmation link)",
                )
                if incident.reporter is not None
                else Actor.integration(f"{incident.reporter_display} (confirmation link)")
            )
    assert actor is not None
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


@transaction.atomic
def incident_auto_close(*, incident: Incident) -> bool:
    """The system closes a resolved incident TOCSIN_AUTO_CLOSE_DAYS days after its last
    resolve; False (and nothing changed) if it is not due or changed meanwhile."""
    actor = Actor.system("auto-close")
    at = now()
    cutoff = at - dt.timedelta(days=settings.TOCSIN_AUTO_CLOSE_DAYS)
    updated = Incident.objects.filter(
        pk=incident.pk,
        status=Status.RESOLVED,
        resolved_at=incident.resolved_at,
        resolved_at__lte=cutoff,
    ).update(closed_at=at)
    if updated != 1:
        return False
    incident.refresh_from_db()
    transition(
        incident,
        "close",
        actor=actor,
        visibility=Visibility.PUBLIC,
        note=f"Closed automatically {settings.TOCSIN_AUTO_CLOSE_DAYS} days after resolution",
    )
    return True


@transaction.atomic
def incident_mark_breaches(*, at: dt.datetime, limit: int = 200) -> int:
    """Record SLA breaches whose due time has passed (once each, on the timeline)."""
    marked = 0
    for name in ("response", "resolution"):
        due = f"{name}_due_at"
        candidates = (
            Incident.objects.filter(
                status__in=sla.RUNNING_STATUSES,
                **{
                    f"{due}__lt": at,
                    f"{name}_met_at__isnull": True,
                    f"{name}_breached_at__isnull": True,
                },
            )
            .order_by(due)
            .values_list("pk", due)[:limit]
        )
        for pk, due_at in candidates:
            claimed = Incident.objects.filter(
                pk=pk, **{f"{name}_breached_at__isnull": True}
            ).update(**{f"{name}_breached_at": due_at})
            if claimed != 1:
                continue
            incident = Incident.objects.get(pk=pk)
            timeline_append(
                incident=incident,
                kind=EntryKind.SLA,
                actor=Actor.system("sla"),
                text=f"{name.capitalize()} target breached",
                data={"target": name, "due_at": due_at.isoformat()},
            )
            marked += 1
    return marked


@transaction.atomic
def incident_ack_timeout(*, incident: Incident, at: dt.datetime) -> bool:
    """The system takes back an acknowledgement that timed out; False if it moved on."""
    current = Incident.objects.select_for_update().filter(
        pk=incident.pk, status=Status.ACKNOWLEDGED, ack_expires_at__lte=at
    )
    if not current.exists():
        return False
    minutes = incident.service.ack_timeout_minutes if incident.service_id else None
    incident_act(
        incident=incident,
        actor=Actor.system("ack-timeout"),
        action="unacknowledge",
        note=f"Acknowledgement timed out after {minutes} minutes without progress"
        if minutes
        else "Acknowledgement timed out",
    )
    return True
