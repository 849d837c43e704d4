"""Filing and triaging an incident: create, and change its fields."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import transaction

from tocsin.accounts.models import Team, User
from tocsin.accounts.permissions import Action, require_for
from tocsin.catalog.models import Category, Service
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.core.errors import Conflict, Invalid
from tocsin.core.fastinsert import insert
from tocsin.core.models import Counter
from tocsin.incidents import hooks, sla
from tocsin.incidents.models import (
    EntryKind,
    Incident,
    Level,
    Source,
    Status,
    Visibility,
)
from tocsin.incidents.priority import priority_for
from tocsin.incidents.services._common import (
    DESCRIPTION_MAX,
    TITLE_MAX,
    _check_assignee,
    _check_categories,
    _check_email,
    _check_level,
    _check_moment,
    _clean_text,
    _display,
    _lock,
    _one_line,
)
from tocsin.incidents.services.response import war_room_links
from tocsin.incidents.timeline import timeline_append


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
    number = Counter.next_value("incident")
    incident = Incident(
        number=number,
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
        **war_room_links(service, number),
    )
    sla.sla_start(incident, at)
    insert(incident)
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
    hooks.run_created(incident=incident, actor=actor, affected=bool(affected_services))
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
    """Triage: change fields; the save is one timeline entry listing each change old → new.

    `changes` may hold any of TRIAGE_FIELDS plus `priority` (a manual override, which
    needs `priority_reason`; `None` returns to the matrix).
    """
    require_for(actor, Action.INCIDENT_TRIAGE, what="triage incidents")
    incident = _lock(incident)
    old_service_id = incident.service_id
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
    if incident.priority != old_priority:
        sla.sla_reprioritise(incident, at, old_priority=old_priority)
    changed = [{"field": name, "old": old, "new": new} for name, old, new in entries]
    if incident.priority != old_priority:
        changed.append(
            {
                "field": "priority",
                "old": f"P{old_priority}",
                "new": f"P{incident.priority}",
                "override": bool(incident.priority_override_reason),
            }
        )
    if changed:
        # One save, one entry: the fields it changed, each old → new.
        timeline_append(
            incident=incident,
            kind=EntryKind.FIELD,
            actor=actor,
            text=incident.priority_override_reason if incident.priority != old_priority else "",
            data={"changes": changed},
        )
    if entries or incident.priority != old_priority:
        incident.updated_at = at
        incident.save()
    if entries:
        hooks.run_updated(incident=incident, fields=[name for name, _, _ in entries], actor=actor)
    if incident.priority != old_priority:
        hooks.run_priority_changed(incident=incident, old=old_priority, actor=actor)
    if incident.service_id != old_service_id:
        hooks.run_service_changed(incident=incident, old_service_id=old_service_id, actor=actor)
    return incident
