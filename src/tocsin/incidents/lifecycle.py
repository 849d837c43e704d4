"""The incident state machine: statuses, the allowed transitions, and one transition().

Only services call transition(), inside their transaction; it appends the timeline entry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tocsin.core.clock import now
from tocsin.core.errors import Conflict, Invalid
from tocsin.incidents import hooks
from tocsin.incidents.models import EntryKind, Status, Visibility
from tocsin.incidents.timeline import timeline_append

if TYPE_CHECKING:
    from tocsin.core.actors import Actor
    from tocsin.incidents.models import Incident, TimelineEntry

# from-status -> {action: to-status}
TRANSITIONS: dict[str, dict[str, str]] = {
    Status.NEW: {
        "acknowledge": Status.ACKNOWLEDGED,
        "start": Status.IN_PROGRESS,
        "hold": Status.ON_HOLD,
        "resolve": Status.RESOLVED,
    },
    Status.ACKNOWLEDGED: {
        "start": Status.IN_PROGRESS,
        "hold": Status.ON_HOLD,
        "resolve": Status.RESOLVED,
        "unacknowledge": Status.NEW,
    },
    Status.IN_PROGRESS: {"hold": Status.ON_HOLD, "resolve": Status.RESOLVED},
    Status.ON_HOLD: {"resume": Status.IN_PROGRESS, "resolve": Status.RESOLVED},
    Status.RESOLVED: {"close": Status.CLOSED, "reopen": Status.IN_PROGRESS},
    Status.CLOSED: {},
}

ACTIONS = ("acknowledge", "unacknowledge", "start", "hold", "resume", "resolve", "close", "reopen")


def allowed_actions(status: str) -> list[str]:
    return list(TRANSITIONS.get(status, {}))


def check_action(action: str) -> str:
    """`action` if it is one of ACTIONS; Invalid naming the field otherwise."""
    if action not in ACTIONS:
        raise Invalid("action", f"unknown action {action!r}; one of {', '.join(ACTIONS)}")
    return action


def target_status(status: str, action: str) -> str:
    """The status `action` leads to from `status`, or Conflict naming what is allowed."""
    check_action(action)
    try:
        return TRANSITIONS[status][action]
    except KeyError:
        allowed = allowed_actions(status)
        label = Status(status).label.lower() if status in Status.values else status
        if allowed:
            raise Conflict(
                f"cannot {action} an incident that is {label}; allowed: {', '.join(allowed)}"
            ) from None
        raise Conflict(f"cannot {action} an incident that is {label}; it is final") from None


def transition(
    incident: Incident,
    action: str,
    *,
    actor: Actor,
    note: str = "",
    visibility: str = Visibility.INTERNAL,
) -> TimelineEntry:
    """Move `incident` along `action`, save the status and append the timeline entry."""
    old = incident.status
    new = target_status(old, action)
    incident.status = new
    incident.updated_at = now()
    incident.save(update_fields=["status", "updated_at"])
    entry = timeline_append(
        incident=incident,
        kind=EntryKind.TRANSITION,
        actor=actor,
        text=note,
        visibility=visibility,
        data={"action": action, "from": old, "to": new},
    )
    hooks.run_transition(incident=incident, action=action, old=old, new=new, actor=actor)
    return entry
