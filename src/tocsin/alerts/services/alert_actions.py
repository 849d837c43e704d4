"""What people do to alerts: acknowledge and resolve them, one or many at once (the alert
page, the alerts list's bulk actions and the API all call these).

One transaction per call. Each alert that changes is claimed with a compare-and-set on
its status (so two people, or a person and monitoring, never both change it) and written
to the audit log; each incident whose alerts changed gets one timeline entry naming them.
As when monitoring acknowledges an alert, acknowledging an alert of a `new` incident
acknowledges the incident (through the incident's own service: SLA and timeline); as when
monitoring resolves one, a monitoring incident whose alerts are now all resolved resolves
if its service auto-resolves.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction

from tocsin.accounts.permissions import Action, require_for
from tocsin.alerts.models import Alert, AlertStatus
from tocsin.alerts.services._common import _auto_resolve
from tocsin.core.actors import Actor
from tocsin.core.audit import audit_record
from tocsin.core.clock import now
from tocsin.core.errors import Conflict, Invalid, NotFound
from tocsin.incidents import services as incident_services
from tocsin.incidents.models import Incident, Status

ACKNOWLEDGE = "acknowledge"
RESOLVE = "resolve"
ALERT_ACTIONS = (ACKNOWLEDGE, RESOLVE)
BULK_MAX = 200
_ENTRY_SHOWN = 20

# The statuses each action may start from, and the status it leaves.
_FROM = {
    ACKNOWLEDGE: (AlertStatus.TRIGGERED,),
    RESOLVE: (AlertStatus.TRIGGERED, AlertStatus.ACKNOWLEDGED),
}
_TO = {ACKNOWLEDGE: AlertStatus.ACKNOWLEDGED, RESOLVE: AlertStatus.RESOLVED}
_DONE = {ACKNOWLEDGE: "acknowledged", RESOLVE: "resolved"}


@dataclass
class AlertsChanged:
    """What a call did: the alerts it changed, those it left (and why), and the incidents
    that resolved because their last open alert did."""

    action: str
    changed: list[Alert] = field(default_factory=list)
    skipped: list[tuple[Alert, str]] = field(default_factory=list)
    incidents_resolved: list[int] = field(default_factory=list)


def why_not(alert: Alert, action: str) -> str:
    """Why `action` cannot be taken on the alert (it is already past it), saying what is
    allowed; empty if it can."""
    if alert.status in _FROM[action]:
        return ""
    if alert.status == AlertStatus.RESOLVED:
        return f"alert #{alert.pk} is already resolved"
    return f"alert #{alert.pk} is already acknowledged; it may still be resolved"


def alert_acknowledge(*, actor: Actor, alert: Alert) -> Alert:
    """Acknowledge one triggered alert (409 if it is acknowledged or resolved already)."""
    return _one(actor=actor, alert=alert, action=ACKNOWLEDGE)


def alert_resolve(*, actor: Actor, alert: Alert) -> Alert:
    """Resolve one open alert (409 if it is resolved already)."""
    return _one(actor=actor, alert=alert, action=RESOLVE)


def alerts_acknowledge(*, actor: Actor, alert_ids: Iterable[int]) -> AlertsChanged:
    """Acknowledge the triggered ones of these alerts; the others are skipped (a bulk
    action repeated changes nothing). 404 naming the first id that does not exist."""
    return alerts_act(actor=actor, alert_ids=alert_ids, action=ACKNOWLEDGE)


def alerts_resolve(*, actor: Actor, alert_ids: Iterable[int]) -> AlertsChanged:
    """Resolve the open ones of these alerts; resolved ones are skipped."""
    return alerts_act(actor=actor, alert_ids=alert_ids, action=RESOLVE)


def _one(*, actor: Actor, alert: Alert, action: str) -> Alert:
    done = alerts_act(actor=actor, alert_ids=[alert.pk], action=action, strict=True)
    return done.changed[0]


@transaction.atomic
def alerts_act(
    *, actor: Actor, alert_ids: Iterable[int], action: str, strict: bool = False
) -> AlertsChanged:
    """Acknowledge or resolve alerts; `strict`: an alert already past the action is a 409
    (and nothing changes) instead of being skipped."""
    if action not in ALERT_ACTIONS:
        raise Invalid("action", f"must be one of {', '.join(ALERT_ACTIONS)}")
    require_for(actor, Action.ALERT_ACT, what="acknowledge or resolve alerts")
    ids = sorted(set(alert_ids))
    if not ids:
        raise Invalid("alerts", "choose at least one alert")
    if len(ids) > BULK_MAX:
        raise Invalid("alerts", f"at most {BULK_MAX} alerts at once")
    alerts = list(
        Alert.objects.select_for_update(of=("self",))
        .select_related("incident", "service")
        .filter(pk__in=ids)
        .order_by("pk")
    )
    missing = sorted(set(ids) - {alert.pk for alert in alerts})
    if missing:
        raise NotFound(f"no alert with id {missing[0]}")
    at = now()
    result = AlertsChanged(action=action)
    for alert in alerts:
        reason = why_not(alert, action)
        if reason and strict:
            raise Conflict(reason)
        if reason:
            result.skipped.append((alert, reason))
            continue
        was = alert.status
        stamp = "acknowledged_at" if action == ACKNOWLEDGE else "resolved_at"
        values: dict[str, object] = {"status": _TO[action], stamp: at}
        # Compare-and-set: monitoring (or someone else) may have moved it since the read.
        if Alert.objects.filter(pk=alert.pk, status=was).update(**values) != 1:
            if strict:
                raise Conflict(f"alert #{alert.pk} changed meanwhile; reload it")
            result.skipped.append((alert, f"alert #{alert.pk} changed meanwhile"))
            continue
        for name, value in values.items():
            setattr(alert, name, value)
        audit_record(
            actor=actor,
            action=f"alert.{action}",
            obj=alert,
            before={"status": was},
            after={"status": alert.status},
        )
        result.changed.append(alert)
    _tell_incidents(actor=actor, result=result)
    return result


def _tell_incidents(*, actor: Actor, result: AlertsChanged) -> None:
    """One timeline entry per incident whose alerts changed; the incident follows them
    (acknowledged if new; resolved once all its alerts are, if its service says so)."""
    by_incident: dict[int, list[Alert]] = {}
    for alert in result.changed:
        if alert.incident_id is not None:
            by_incident.setdefault(alert.incident_id, []).append(alert)
    for incident_id, alerts in by_incident.items():
        incident: Incident = alerts[0].incident  # type: ignore[assignment]
        text = _entry_text(result.action, alerts)
        incident.refresh_from_db(fields=["status"])
        if result.action == ACKNOWLEDGE and incident.status == Status.NEW:
            incident_services.incident_acknowledge(incident=incident, actor=actor, note=text)
        else:
            incident_services.incident_add_note(incident=incident, actor=actor, text=text)
        if result.action == RESOLVE and _auto_resolve(incident_id, actor):
            result.incidents_resolved.append(incident_id)


def _entry_text(action: str, alerts: list[Alert]) -> str:
    done = _DONE[action]
    if len(alerts) == 1:
        alert = alerts[0]
        text = f"Alert {done}: {alert.summary} (alert #{alert.pk})"
    else:
        shown = "\n".join(f"- {a.summary} (alert #{a.pk})" for a in alerts[:_ENTRY_SHOWN])
        more = len(alerts) - _ENTRY_SHOWN
        text = f"{len(alerts)} alerts {done}:\n{shown}" + (
            f"\n- … and {more} more" if more > 0 else ""
        )
    return text[: incident_services.NOTE_MAX]
