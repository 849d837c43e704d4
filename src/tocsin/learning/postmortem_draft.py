"""The generated parts of a postmortem: what the incident's record already says, in
Markdown, filled into a template's {placeholders}.

Blameless by design: the generated parts name roles, levels and schedules, never people.
Who was paged is read from the escalation records (the level, the schedule or team that
named the person, the urgency, when, and whether it was acknowledged); in the timeline,
the names of the people on the incident are replaced by their role on it ("the incident
commander", "the assignee", "a responder"), and no entry says who wrote it.

The placeholders (`PLACEHOLDERS`) are filled by substituting exactly those names; any
other text in braces stays as written (templates are checked when saved, see
`template_check`). Nothing here is ever evaluated as a Django template.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.conf import settings

from tocsin.core.errors import Invalid
from tocsin.escalation.models import Escalation, Page
from tocsin.incidents.models import EntryKind, Incident, RoleAssignment, TimelineEntry

PLACEHOLDERS: dict[str, str] = {
    "ref": "the incident's number (INC-42)",
    "title": "the incident's title",
    "priority": "its priority (P1)",
    "summary": "its description and resolution",
    "impact": "its impact and urgency",
    "services": "the service and the affected services",
    "duration": "from impact start to resolution",
    "key_times": "impact start, detection, acknowledgement, mitigation, resolution",
    "metrics": "time to detect, acknowledge and resolve this incident",
    "paging": "who was paged and when (levels and schedules, not people)",
    "timeline": "the timeline, highlighted (pinned) entries marked",
}
TEMPLATE_MAX = 20000
TIMELINE_LIMIT = 80  # entries in the generated timeline (every pinned one is kept)
ENTRY_TEXT_MAX = 300

_PLACEHOLDER = re.compile(r"\{([a-z_]{1,30})\}")

DEFAULT_TEMPLATE_NAME = "Blameless postmortem"
# Also written by the migration that seeds it (learning/migrations/0002_postmortems.py).
DEFAULT_TEMPLATE = """\
# Postmortem: {ref} {title}

> **This review is blameless.** We look at how our systems and processes allowed this
> to happen, not at who did what. Everyone involved acted in good faith on what they
> knew at the time; the generated parts below name roles, not people.

## Summary

{summary}

## Impact

{impact}

- **Priority:** {priority}
- **Services:** {services}
- **Duration:** {duration}

## Key times

{key_times}

{metrics}

## Who was paged

{paging}

## Timeline

Highlighted entries (pinned on the incident) are marked ★.

{timeline}

## Root cause

_What in the system made this possible?_

## Contributing factors

_What made it more likely, or worse, or longer?_

## What went well

_What should we keep doing?_

## What went badly

_What slowed us down or confused us?_

## Where we got lucky

_What could have made this much worse, and did not?_

## Action items

Track them as action items of this postmortem.
"""


def template_check(body: str, field: str = "body") -> str:
    """The body, stripped, if every {placeholder} in it is known; Invalid otherwise."""
    body = (body or "").strip()
    if not body:
        raise Invalid(field, "Write the text of the template.")
    if len(body) > TEMPLATE_MAX:
        raise Invalid(field, f"At most {TEMPLATE_MAX} characters.")
    unknown = sorted({m for m in _PLACEHOLDER.findall(body) if m not in PLACEHOLDERS})
    if unknown:
        names = ", ".join("{" + name + "}" for name in unknown)
        known = " ".join("{" + name + "}" for name in PLACEHOLDERS)
        raise Invalid(field, f"Unknown placeholder {names}; the placeholders are {known}.")
    return body + "\n"


def fill(template: str, values: Mapping[str, str]) -> str:
    """The template with its known {placeholders} replaced (once: a value that itself
    contains braces is not filled again)."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)


# --- formatting --------------------------------------------------------------------------------


def _zone() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def when(at: dt.datetime | None) -> str:
    if at is None:
        return "not recorded"
    return at.astimezone(_zone()).strftime("%Y-%m-%d %H:%M %Z")


def _clock(at: dt.datetime) -> str:
    return at.astimezone(_zone()).strftime("%d %b %H:%M")


def span(seconds: float | None) -> str:
    """A duration as people say it: "45 s", "12 min", "2 h 05 min", "3 d 4 h"."""
    if seconds is None:
        return "not known"
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def _between(start: dt.datetime | None, end: dt.datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return (end - start).total_seconds()


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~])")


def inline(text: str, limit: int = ENTRY_TEXT_MAX) -> str:
    """User text on one line of generated Markdown: whitespace collapsed, cut, and the
    characters that would start a link, emphasis, code or a heading escaped (rendering
    goes through nh3 anyway; this keeps the document's shape)."""
    flat = " ".join((text or "").split())
    if len(flat) > limit:
        flat = flat[: limit - 1].rstrip() + "…"
    return _MD_SPECIAL.sub(r"\\\1", flat)


# --- the record's times -------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyTimes:
    impact_start: dt.datetime | None
    detection: dt.datetime | None
    acknowledgement: dt.datetime | None
    mitigation: dt.datetime | None
    resolution: dt.datetime | None

    @property
    def time_to_detect(self) -> float | None:
        return _between(self.impact_start, self.detection)

    @property
    def time_to_acknowledge(self) -> float | None:
        return _between(self.detection, self.acknowledgement)

    @property
    def time_to_resolve(self) -> float | None:
        return _between(self.impact_start, self.resolution)


def _mitigated_at(incident: Incident) -> dt.datetime | None:
    """When the impact stopped: the incident's `mitigated_at` (its "Mark mitigated" action,
    or the first stakeholder update that said "monitoring"); for an incident recorded
    before that field existed, the first such update on its timeline."""
    if incident.mitigated_at is not None:
        return incident.mitigated_at
    for entry in TimelineEntry.objects.filter(incident=incident, kind=EntryKind.UPDATE).only(
        "created_at", "data"
    ):
        if isinstance(entry.data, dict) and entry.data.get("status") == "monitoring":
            return entry.created_at
    return None


def key_times(incident: Incident) -> KeyTimes:
    """Impact start (else detection, else report), detection (else report),
    acknowledgement, mitigation, resolution."""
    detection = incident.detected_at or incident.reported_at
    return KeyTimes(
        impact_start=incident.impact_started_at or detection,
        detection=detection,
        acknowledgement=incident.acknowledged_at,
        mitigation=_mitigated_at(incident),
        resolution=incident.resolved_at,
    )


# --- blameless names ----------------------------------------------------------------------------


def _role_names(incident: Incident) -> dict[int, str]:
    """Each person on the incident → how the generated text names them."""
    names: dict[int, str] = {}
    if incident.reporter_id:
        names[incident.reporter_id] = "the reporter"
    names_from_roles = RoleAssignment.objects.filter(incident=incident).select_related("role")
    for assignment in names_from_roles.order_by("-assigned_at"):
        names.setdefault(assignment.user_id, f"the {assignment.role.name.lower()}")
    if incident.assignee_id:
        names.setdefault(incident.assignee_id, "the assignee")
    return names


def _people(incident: Incident, entries: Iterable[TimelineEntry]) -> list[tuple[str, str]]:
    """(name as written, replacement) for everyone who acted on or was paged for the
    incident, longest names first."""
    from tocsin.accounts.models import User

    roles = _role_names(incident)
    ids = set(roles)
    ids.update(e.actor_user_id for e in entries if e.actor_user_id)
    ids.update(Page.objects.filter(incident=incident).values_list("person_id", flat=True))
    pairs: list[tuple[str, str]] = []
    for user in User.objects.filter(pk__in=ids).only(
        "pk", "username", "name", "first_name", "last_name"
    ):
        label = roles.get(user.pk, "a responder")
        for name in {str(user.display_name), user.username}:
            if len(name) >= 3:
                pairs.append((name, label))
    pairs.sort(key=lambda p: -len(p[0]))
    return pairs


def _anonymise(text: str, people: list[tuple[str, str]]) -> str:
    for name, label in people:
        text = re.sub(rf"(?<!\w){re.escape(name)}(?!\w)", label, text, flags=re.IGNORECASE)
    return text


# --- the parts ----------------------------------------------------------------------------------


def _summary(incident: Incident) -> str:
    parts = []
    if incident.description.strip():
        parts.append(inline(incident.description, 2000))
    if incident.resolution_notes.strip():
        code = incident.get_resolution_code_display() if incident.resolution_code else ""
        parts.append(
            f"Resolved ({code.lower() or 'no code'}): {inline(incident.resolution_notes, 2000)}"
        )
    return "\n\n".join(parts) or "_Describe what happened in two or three sentences._"


def _impact(incident: Incident) -> str:
    impact = incident.get_impact_display().split("–", 1)[-1].strip()
    urgency = incident.get_urgency_display().split("–", 1)[-1].strip()
    return (
        f"Impact **{impact.lower()}**, urgency **{urgency.lower()}**. "
        "_Who noticed what, for how long?_"
    )


def _services(incident: Incident) -> str:
    names: list[str] = []
    if incident.service_id:
        names.append(incident.service.name)  # type: ignore[union-attr]
    names += [s.name for s in incident.affected_services.all() if s.name not in names]
    return ", ".join(inline(n, 100) for n in names) or "none recorded"


def _key_times(times: KeyTimes) -> str:
    rows = [
        ("Impact started", times.impact_start),
        ("Detected", times.detection),
        ("Acknowledged", times.acknowledgement),
        ("Mitigated", times.mitigation),
        ("Resolved", times.resolution),
    ]
    lines = ["| Moment | Time |", "| --- | --- |"]
    lines += [f"| {label} | {when(at)} |" for label, at in rows]
    return "\n".join(lines)


def _metrics(times: KeyTimes) -> str:
    return "\n".join(
        [
            f"- **Time to detect** (impact start → detection): {span(times.time_to_detect)}",
            f"- **Time to acknowledge** (detection → acknowledgement): "
            f"{span(times.time_to_acknowledge)}",
            f"- **Time to resolve** (impact start → resolution): {span(times.time_to_resolve)}",
        ]
    )


def _via(page: Page) -> str:
    via = page.via or ""
    if via.startswith("person ") or not via:
        return (
            "a person named in the policy"
            if page.escalation.policy_id
            else "a person paged by hand"
        )
    return inline(via, 120)


def _paging(incident: Incident) -> str:
    pages = list(
        Page.objects.filter(incident=incident)
        .select_related("escalation", "escalation__policy")
        .order_by("created_at", "pk")
    )
    if not pages:
        return "Nobody was paged through an escalation policy."
    lines = []
    for page in pages:
        climb: Escalation = page.escalation
        if climb.state == "responders":
            what = "Responder request"
        elif climb.policy_id:
            what = f"Level {page.level + 1} of {inline(climb.policy.name, 100)}"  # type: ignore[union-attr]
            if page.cycle:
                what += f" (repeat {page.cycle})"
        else:
            what = "Paged by hand"
        state = {"acknowledged": "acknowledged", "cancelled": "stood down"}.get(
            page.state, "not acknowledged"
        )
        lines.append(
            f"- {_clock(page.created_at)} — {what}, via {_via(page)}, "
            f"{page.urgency} urgency: {state}"
        )
    return "\n".join(lines)


def _timeline(incident: Incident, entries: list[TimelineEntry]) -> str:
    if not entries:
        return "_The timeline is empty._"
    people = _people(incident, entries)
    pinned = [e for e in entries if e.pinned_at is not None]
    others = [e for e in entries if e.pinned_at is None]
    room = max(0, TIMELINE_LIMIT - len(pinned))
    keep = {e.pk for e in pinned} | {e.pk for e in others[:room]}
    lines = []
    for entry in entries:
        if entry.pk not in keep:
            continue
        label = EntryKind(entry.kind).label if entry.kind in EntryKind.values else entry.kind
        text = "[redacted]" if entry.redacted_at else inline(_anonymise(entry.text, people))
        line = f"{_clock(entry.created_at)} — {label}" + (f": {text}" if text else "")
        lines.append(f"- ★ **{line}**" if entry.pinned_at else f"- {line}")
    left = len(entries) - len(keep)
    if left:
        lines.append(f"- … and {left} more entries on the incident's timeline")
    return "\n".join(lines)


def values_for(incident: Incident) -> dict[str, str]:
    """Every placeholder's text for this incident."""
    times = key_times(incident)
    entries = list(
        TimelineEntry.objects.filter(incident=incident).exclude(kind=EntryKind.POSTMORTEM)
    )
    return {
        "ref": incident.ref,
        "title": inline(incident.title, 200),
        "priority": incident.priority_label,
        "summary": _summary(incident),
        "impact": _impact(incident),
        "services": _services(incident),
        "duration": span(times.time_to_resolve)
        if times.resolution
        else "still open when this was drafted",
        "key_times": _key_times(times),
        "metrics": _metrics(times),
        "paging": _paging(incident),
        "timeline": _timeline(incident, entries),
    }


def draft_markdown(incident: Incident, template_body: str) -> str:
    return fill(template_body, values_for(incident))
