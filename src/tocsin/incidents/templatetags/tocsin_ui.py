"""Small presentation helpers for the incident pages: badges, SLA countdowns, timeline wording.

Everything here returns plain text (escaped by the template) or builds HTML with
format_html, which escapes every value it interpolates.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from tocsin.core.clock import now as clock_now
from tocsin.core.clock import parse_iso
from tocsin.incidents.models import EntryKind, Level, ResolutionCode, Status, TimelineEntry
from tocsin.incidents.timeline import actor_display

register = template.Library()

STATUS_LABELS = dict(Status.choices)
LEVEL_LABELS = {int(k): v for k, v in Level.choices}
ACTION_PAST = {
    "acknowledge": "acknowledged",
    "unacknowledge": "withdrew the acknowledgement",
    "start": "started work",
    "hold": "put it on hold",
    "resume": "resumed work",
    "resolve": "resolved it",
    "close": "closed it",
    "reopen": "reopened it",
}
FIELD_LABELS = {
    "affected_services": "affected services",
    "impact_started_at": "impact start",
    "detected_at": "detection time",
}


@register.filter
def duration(seconds: float | int | None) -> str:
    """A compact span of time: 45s → "<1m", 720 → "12m", 11100 → "3h 5m", "2d 4h"."""
    if seconds is None:
        return ""
    seconds = abs(int(seconds))
    if seconds < 60:
        return "<1m"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h" if hours else f"{days}d"


@register.simple_tag
def priority_badge(priority: int) -> SafeString:
    return format_html(
        '<span class="badge prio prio-{}" title="Priority P{}">P{}</span>',
        priority,
        priority,
        priority,
    )


@register.simple_tag
def status_pill(status: str) -> SafeString:
    return format_html(
        '<span class="pill status-{}">{}</span>',
        status.replace("_", "-"),
        STATUS_LABELS.get(status, status),
    )


def sla_display(state: dict[str, Any], total: float, at: dt.datetime) -> dict[str, Any]:
    """What one SLA target shows: a text, a tone and, while the clock runs, the due time
    for the countdown that ticks in the browser.

    Tones: met, paused, none, and while the clock runs by the share of the target used
    (sla_tone): ok up to 50 %, warning (amber) past 50 %, critical (red) past 80 %,
    breached once the due time has passed."""
    due = state.get("due_at")
    met = state.get("met_at")
    if met is not None:
        late = bool(state.get("breached"))
        return {
            "text": "met late" if late else "met in time",
            "tone": "breached" if late else "met",
            "due": None,
        }
    if state.get("paused"):
        remaining = state.get("remaining_seconds")
        if remaining is not None and remaining <= 0:
            return {"text": "paused · breached", "tone": "breached", "due": None}
        text = "paused"
        if remaining is not None:
            text += f" · {duration(remaining)} left"
        return {"text": text, "tone": "paused", "due": None}
    if due is None:
        return {"text": "—", "tone": "none", "due": None}
    remaining = (due - at).total_seconds()
    if remaining <= 0:
        return {"text": f"breached {duration(remaining)} ago", "tone": "breached", "due": due}
    left = state.get("remaining_seconds")
    if left is not None and 0 < left < remaining:  # business hours: working time left
        remaining = left
    return {"text": f"{duration(remaining)} left", "tone": sla_tone(remaining, total), "due": due}


def sla_tone(remaining: float, total: float) -> str:
    """The colour of a running clock by the share of its target used: amber past 50 %,
    red past 80 % (app.js ticks with the same thresholds)."""
    if remaining <= 0:
        return "breached"
    if not total:
        return "ok"
    used = 1 - remaining / total
    if used > 0.8:
        return "critical"
    if used > 0.5:
        return "warning"
    return "ok"


@register.simple_tag
def sla_countdown(view: dict[str, Any] | None, label: str = "") -> SafeString:
    """A countdown span; app.js ticks it every second from data-due (24×7 clocks only: a
    business-hours clock stops out of hours, so the page's refresh updates it)."""
    if not view:
        return format_html('<span class="sla sla-none">—</span>')
    prefix = format_html('<span class="sla-label">{}</span> ', label) if label else ""
    if (
        view.get("due") is not None
        and view["tone"] in ("ok", "warning", "critical", "breached")
        and not view.get("clock")
    ):
        return format_html(
            '<span class="sla sla-{}" data-due="{}" data-total="{}">{}<span class="sla-text">'
            "{}</span></span>",
            view["tone"],
            view["due"].isoformat(),
            int(view.get("total") or 0),
            prefix,
            view["text"],
        )
    return format_html(
        '<span class="sla sla-{}">{}<span class="sla-text">{}</span></span>',
        view["tone"],
        prefix,
        view["text"],
    )


def _value(field: str, value: Any) -> str:
    if value is None or value == "" or value == []:
        return "none"
    if field in ("impact", "urgency") and isinstance(value, int):
        return LEVEL_LABELS.get(value, str(value))
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if field in ("detected_at", "impact_started_at") and isinstance(value, str):
        moment = parse_iso(value)
        if moment is None:
            return value
        return timezone.localtime(moment).strftime("%d %b %Y %H:%M")
    return str(value)


def _change(name: str, change: dict[str, Any], label: str | None = None) -> str:
    label = label or name.replace("_", " ")
    old, new = change.get("old"), change.get("new")
    if old in (None, ""):
        return f"set {label} to {_value(name, new)}"
    if new in (None, ""):
        return f"cleared {label} (was {_value(name, old)})"
    return f"changed {label} from {_value(name, old)} to {_value(name, new)}"


@register.filter
def actor_name(entry: TimelineEntry) -> str:
    """ "Inês Duarte", "Alertmanager · Prometheus prod", "Tocsin · auto-close"."""
    return actor_display(entry)


@register.filter
def email_sender(entry: TimelineEntry) -> str:
    """The address an entry that arrived by mail came from ("" for any other entry): such
    an entry is shown as "… by email from <address>", never as an account's own act."""
    prefix = "by email from "
    if entry.actor_kind == "integration" and entry.actor_label.startswith(prefix):
        return entry.actor_label[len(prefix) :]
    return ""


def timeline_summary(
    entry: TimelineEntry, names: dict[str, str] | None = None, *, staff: bool = True
) -> str:
    """What happened, worded for people, without the actor's name (the template adds it).

    `names` maps usernames in the entry's data to people's names; `staff=False` leaves
    out what only the desk sees (the priority)."""
    names = names or {}
    data = entry.data or {}
    kind = entry.kind
    if kind == EntryKind.CREATED:
        priority = data.get("priority") if staff else None
        return "reported the incident" + (f" ({priority})" if priority else "")
    if kind == EntryKind.FIELD and isinstance(data.get("changes"), list):
        labels = [_field_label(str(c.get("field", "a field"))) for c in data["changes"]]
        return "changed " + _and(labels) if labels else "changed nothing"
    if kind == EntryKind.FIELD and data.get("field") == "mitigated_at":
        if data.get("via") == "update":
            return "marked it mitigated (a stakeholder update said monitoring)"
        return "marked it mitigated"
    if kind == EntryKind.FIELD:
        field = str(data.get("field", "a field"))
        if field == "assignee":
            data = {k: names.get(v, v) if isinstance(v, str) else v for k, v in data.items()}
        return _change(field, data, FIELD_LABELS.get(field))
    if kind == EntryKind.TRANSITION:
        old = STATUS_LABELS.get(data.get("from", ""), data.get("from", "?"))
        new = STATUS_LABELS.get(data.get("to", ""), data.get("to", "?"))
        verb = ACTION_PAST.get(data.get("action", ""), "changed the status")
        return f"{verb} · status {old} → {new}"
    if kind == EntryKind.NOTE:
        return "added a note" if entry.visibility == "internal" else "commented"
    if kind == EntryKind.ATTACHMENT:
        return "attached a file"
    if kind in (EntryKind.ASSIGNMENT, EntryKind.ESCALATION):
        parts = []
        if "support_level" in data:
            change = data["support_level"]
            parts.append(
                f"raised the support level from {change.get('old')} to {change.get('new')}"
            )
        if "assignee" in data and data.get("via") == "acknowledge":
            new = data["assignee"].get("new")
            who = names.get(new, new)
            parts.append(f"acknowledged while unassigned, so it is assigned to {who}")
        elif "assignee" in data:
            new = data["assignee"].get("new")
            parts.append(f"assigned it to {names.get(new, new)}" if new else "unassigned it")
        if "team" in data:
            parts.append(_change("team", data["team"]))
        if "participant" in data:
            parts.append("added a participant")
        verb = "escalated: " if kind == EntryKind.ESCALATION else ""
        return verb + ("; ".join(parts) or "changed the assignment")
    if kind == EntryKind.PRIORITY:
        text = f"changed priority from {data.get('old')} to {data.get('new')}"
        return text + (" (manual override)" if data.get("override") else "")
    if kind == EntryKind.MERGE:
        if data.get("into"):
            return f"merged this incident into {data['into']}"
        return f"merged {data.get('from', 'an incident')} into this incident"
    if kind == EntryKind.SLA:
        return "recorded an SLA breach"
    if kind == EntryKind.PAGE:
        return _paging_summary(data, entry.text or "")
    if kind == EntryKind.CONFIRMATION:
        if data.get("accepted"):
            return "confirmed the problem is solved"
        return "said the problem is not solved"
    if kind == EntryKind.ROLE:  # the text names the role and the people
        if data.get("user") and data.get("previous"):
            return "handed over a role"
        return "assigned a role" if data.get("user") else "released a role"
    if kind == EntryKind.WAR_ROOM:
        return "changed the war room"
    return EntryKind(kind).label.lower() if kind in EntryKind.values else kind


# Paging entries by the start of their text (escalation/services.py writes them).
PAGING_VERBS = (
    ("Page now", "paged by hand"),
    ("Escalate now", "escalated the paging"),
    ("Paging reassigned", "reassigned the paging"),
    ("Paging restarted", "restarted the paging"),
    ("Paging stopped", "stopped the paging"),
)


def _paging_summary(data: dict[str, Any], text: str) -> str:
    """Paging entries (escalation app): the text says who and how; this says what."""
    if data.get("notice") == "warning":
        return "warned that an SLA target is 75 % used"
    if data.get("notice") == "breach":
        return "told the manager about an SLA breach"
    if "paged" in data:
        return "sent pages"
    if "outbox" in data:
        return "could not deliver a page"
    if "person" in data:
        return "could not page someone"
    for start, verb in PAGING_VERBS:
        if text.startswith(start):
            return verb
    return "changed the paging"


def _field_label(field: str) -> str:
    return FIELD_LABELS.get(field, field.replace("_", " "))


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


@register.filter
def field_changes(entry: TimelineEntry) -> list[dict[str, str]]:
    """The changes one triage save made, each worded: {"field", "old", "new"} (an entry of
    one change, as older entries are, gives a list of one)."""
    data = entry.data or {}
    if entry.kind != EntryKind.FIELD:
        return []
    changes = data["changes"] if isinstance(data.get("changes"), list) else []
    result = []
    for change in changes:
        if not isinstance(change, dict):
            continue
        field = str(change.get("field", ""))
        new = _value(field, change.get("new"))
        if field == "priority" and change.get("override"):
            new += " (manual override)"
        result.append(
            {
                "field": _field_label(field).capitalize(),
                "old": _value(field, change.get("old")),
                "new": new,
            }
        )
    return result


@register.filter
def level_label(value: int | None) -> str:
    return LEVEL_LABELS.get(value or 0, "—")


@register.filter
def resolution_label(code: str) -> str:
    return dict(ResolutionCode.choices).get(code, code)


@register.filter
def choice_parts(label: str) -> tuple[str, str]:
    """Split a choice label at " — ": ("1 - Critical", "Work has stopped")."""
    head, _, tail = str(label).partition(" — ")
    return head, tail


# --- the queue (helper "queue") ---------------------------------------------------------


@register.filter
def age(moment: dt.datetime | None) -> str:
    """How long ago: "3h 5m", "2d 4h" (the queue's Opened column)."""
    if moment is None:
        return ""
    return duration((clock_now() - moment).total_seconds())


@register.filter
def sla_clock(clock: str | None) -> str:
    """Whether an SLA clock runs around the clock or on a business-hours calendar."""
    return f"business hours ({clock})" if clock else "24×7"
