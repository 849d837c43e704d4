"""Writes of the status page's staff side (issue 11, point 8): components and groups,
component statuses, public incidents and their updates, public maintenances, branding.

Every write is one transaction. Whatever the public may see bumps the status page's
revision (`services.status_changed()`) in that transaction; internal-only changes (links
to internal incidents, drafts) do not. Every public update emits `public_update`
(`comms.events`) so the public side can notify subscribers, with `incident=None` and
`data = {"update_id": …, "public_incident_id" | "maintenance_id": …}`.

Who may: staff write public incidents, updates, component statuses and maintenances
(`Action.STATUS_PUBLISH`); managers and administrators shape components and groups
(`STATUS_MANAGE`); administrators brand the page (`STATUS_CONFIGURE`).
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Max

from tocsin.accounts.permissions import Action, require_for
from tocsin.alerts.models import MaintenanceWindow
from tocsin.catalog.models import Service
from tocsin.comms import events
from tocsin.comms.models import (
    Component,
    ComponentGroup,
    ComponentRule,
    ComponentStatus,
    ComponentStatusChange,
    MaintenanceStatus,
    PublicImpact,
    PublicIncident,
    PublicIncidentStatus,
    PublicMaintenance,
    PublicUpdate,
    StatusPage,
)
from tocsin.comms.services import status_changed, status_page
from tocsin.core.actors import Actor
from tocsin.core.audit import audit_record
from tocsin.core.clock import is_zone, now
from tocsin.core.errors import Conflict, Invalid
from tocsin.incidents.models import EntryKind, Incident
from tocsin.incidents.timeline import timeline_append

NAME_MAX = 100
DESCRIPTION_MAX = 300
TITLE_MAX = 200
BODY_MAX = 20_000
REASON_MAX = 200
LOGO_MAX_BYTES = 512 * 1024

# P1..P4 → the status a derived component shows while an open incident of that
# priority touches one of its services
DEFAULT_DERIVE_MAP: dict[str, str] = {
    "1": ComponentStatus.MAJOR,
    "2": ComponentStatus.PARTIAL,
    "3": ComponentStatus.DEGRADED,
    "4": ComponentStatus.OPERATIONAL,
}
# worst last; under maintenance is outside the scale (it wins while in progress)
SEVERITY = [
    ComponentStatus.OPERATIONAL,
    ComponentStatus.DEGRADED,
    ComponentStatus.PARTIAL,
    ComponentStatus.MAJOR,
]

# --- checks ------------------------------------------------------------------------------


def _text(field: str, value: Any, *, limit: int, required: bool = False, line: bool = True) -> str:
    if not isinstance(value, str):
        raise Invalid(field, "must be text")
    if "\x00" in value:
        raise Invalid(field, "must not contain NUL characters")
    value = value.strip()
    if line:
        value = " ".join("".join(ch if ch.isprintable() else " " for ch in value).split())
    if required and not value:
        raise Invalid(field, "must not be empty")
    if len(value) > limit:
        raise Invalid(field, f"must be at most {limit} characters")
    return value


def _choice(field: str, value: Any, choices: Iterable[str]) -> str:
    allowed = list(choices)
    if value not in allowed:
        raise Invalid(field, f"must be one of {', '.join(allowed)}")
    return str(value)


def check_derive_map(value: Any) -> dict[str, str]:
    """A priority → status map: keys "1".."4", values component statuses; missing keys
    take the defaults."""
    if value is None:
        return dict(DEFAULT_DERIVE_MAP)
    if not isinstance(value, Mapping):
        raise Invalid("derive_map", 'must map priorities "1"–"4" to component statuses')
    result = dict(DEFAULT_DERIVE_MAP)
    for key, status in value.items():
        if str(key) not in DEFAULT_DERIVE_MAP:
            raise Invalid("derive_map", f"priority {key!r} must be one of 1, 2, 3, 4")
        result[str(key)] = _choice(
            "derive_map", status, [s for s in ComponentStatus.values if s != "under_maintenance"]
        )
    return result


_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
AA_CONTRAST = 4.5


def _luminance(colour: str) -> float:
    def channel(hex2: str) -> float:
        c = int(hex2, 16) / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(colour[i : i + 2]) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_with_white(colour: str) -> float:
    """WCAG 2.2 contrast ratio of `colour` (#rrggbb) against white (1–21)."""
    return 1.05 / (_luminance(colour) + 0.05)


def check_colour(value: Any) -> str:
    if not isinstance(value, str) or not _COLOUR.fullmatch(value.strip()):
        raise Invalid("brand_colour", "must be a colour written #rrggbb, e.g. #1f4e8c")
    colour = value.strip().lower()
    ratio = contrast_with_white(colour)
    if ratio < AA_CONTRAST:
        raise Invalid(
            "brand_colour",
            f"{colour} on white has a contrast of {ratio:.2f}:1; WCAG 2.2 AA needs at least "
            f"{AA_CONTRAST}:1 for text and links, so choose a darker colour",
        )
    return colour


# The image types a logo may be, by their first bytes (SVG is refused: it can carry
# script).
_IMAGE_MAGIC: list[tuple[bytes, str, str]] = [
    (b"\x89PNG\r\n\x1a\n", "png", "image/png"),
    (b"\xff\xd8\xff", "jpg", "image/jpeg"),
    (b"GIF87a", "gif", "image/gif"),
    (b"GIF89a", "gif", "image/gif"),
]


def logo_type(data: bytes) -> tuple[str, str] | None:
    """(extension, content type) of a PNG, JPEG, GIF or WebP image; None otherwise."""
    for magic, ext, ctype in _IMAGE_MAGIC:
        if data.startswith(magic):
            return ext, ctype
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp", "image/webp"
    return None


def _check_moment(field: str, value: Any) -> dt.datetime:
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        raise Invalid(field, "must be a date and time with a time zone")
    return value


# --- small helpers -----------------------------------------------------------------------


def _user(actor: Actor) -> Any:
    return actor.user if actor.user is not None and actor.user.pk else None


def mark_derive_dirty() -> None:
    """The derive module recomputes on its next tick (a rule or a mapping changed)."""
    status_page()
    StatusPage.objects.filter(pk=1).exclude(derive_key="").update(derive_key="")


def component_status_write(
    *, component: Component, status: str, by: Any, reason: str, at: dt.datetime
) -> tuple[str, str] | None:
    """Set a component's status with a compare-and-set and write its history row; None
    when it already had that status (or someone else changed it at the same moment).
    Inside the caller's transaction; the caller bumps the revision."""
    old = component.status
    if old == status:
        return None
    changed = Component.objects.filter(pk=component.pk, status=old).update(
        status=status, updated_at=at
    )
    if changed != 1:
        component.refresh_from_db(fields=["status", "updated_at"])
        return None
    component.status = status
    component.updated_at = at
    ComponentStatusChange.objects.create(
        component=component, status=status, at=at, by=by, reason=reason[:REASON_MAX]
    )
    return old, status


def _snapshot(obj: Any, fields: Sequence[str]) -> dict[str, Any]:
    return {f: getattr(obj, f) for f in fields}


# --- component groups --------------------------------------------------------------------


@transaction.atomic
def group_create(
    *, actor: Actor, name: str, description: str = "", position: int | None = None
) -> ComponentGroup:
    require_for(actor, Action.STATUS_MANAGE)
    name = _text("name", name, limit=NAME_MAX, required=True)
    description = _text("description", description, limit=DESCRIPTION_MAX)
    if ComponentGroup.objects.filter(name__iexact=name).exists():
        raise Invalid("name", f"a component group named {name!r} exists already")
    if position is None:
        last = ComponentGroup.objects.aggregate(m=Max("position"))["m"]
        position = 0 if last is None else last + 1
    at = now()
    group = ComponentGroup.objects.create(
        name=name, description=description, position=position, created_at=at, updated_at=at
    )
    audit_record(actor=actor, action="status_group.create", obj=group, after={"name": name})
    status_changed()
    return group


@transaction.atomic
def group_update(
    *, actor: Actor, group: ComponentGroup, changes: Mapping[str, Any]
) -> ComponentGroup:
    require_for(actor, Action.STATUS_MANAGE)
    if group.archived_at is not None:
        raise Conflict("this component group is archived; archived groups do not change")
    before = _snapshot(group, ("name", "description", "position"))
    if "name" in changes:
        name = _text("name", changes["name"], limit=NAME_MAX, required=True)
        if ComponentGroup.objects.filter(name__iexact=name).exclude(pk=group.pk).exists():
            raise Invalid("name", f"a component group named {name!r} exists already")
        group.name = name
    if "description" in changes:
        group.description = _text("description", changes["description"], limit=DESCRIPTION_MAX)
    if "position" in changes:
        group.position = _position(changes["position"])
    group.updated_at = now()
    group.save()
    audit_record(
        actor=actor,
        action="status_group.update",
        obj=group,
        before=before,
        after=_snapshot(group, ("name", "description", "position")),
    )
    status_changed()
    return group


@transaction.atomic
def group_archive(*, actor: Actor, group: ComponentGroup) -> ComponentGroup:
    """Archive a group; its components stay, ungrouped."""
    require_for(actor, Action.STATUS_MANAGE)
    if group.archived_at is not None:
        raise Conflict("this component group is archived already")
    at = now()
    group.archived_at = at
    group.updated_at = at
    group.save(update_fields=["archived_at", "updated_at"])
    Component.objects.filter(group=group).update(group=None, updated_at=at)
    audit_record(actor=actor, action="status_group.archive", obj=group)
    status_changed()
    return group


def _position(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10_000:
        raise Invalid("position", "must be a whole number from 0 to 10000")
    return value


# --- components --------------------------------------------------------------------------

_COMPONENT_FIELDS = (
    "name",
    "description",
    "group_id",
    "position",
    "rule",
    "derive_map",
    "showcase",
    "only_show_if_degraded",
)


def _group(value: ComponentGroup | None) -> ComponentGroup | None:
    if value is not None and value.archived_at is not None:
        raise Invalid("group", f"the group {value.name!r} is archived")
    return value


@transaction.atomic
def component_create(
    *,
    actor: Actor,
    name: str,
    description: str = "",
    group: ComponentGroup | None = None,
    services: Sequence[Service] = (),
    rule: str = ComponentRule.MANUAL,
    derive_map: Any = None,
    status: str = ComponentStatus.OPERATIONAL,
    showcase: bool = True,
    only_show_if_degraded: bool = False,
    position: int | None = None,
) -> Component:
    require_for(actor, Action.STATUS_MANAGE)
    name = _text("name", name, limit=NAME_MAX, required=True)
    description = _text("description", description, limit=DESCRIPTION_MAX)
    rule = _choice("rule", rule, ComponentRule.values)
    status = _choice("status", status, ComponentStatus.values)
    group = _group(group)
    mapping = check_derive_map(derive_map)
    if Component.objects.filter(name__iexact=name).exists():
        raise Invalid("name", f"a component named {name!r} exists already")
    if position is None:
        last = Component.objects.filter(group=group).aggregate(m=Max("position"))["m"]
        position = 0 if last is None else last + 1
    else:
        position = _position(position)
    at = now()
    component = Component.objects.create(
        name=name,
        description=description,
        group=group,
        position=position,
        rule=rule,
        derive_map=mapping,
        status=status,
        showcase=bool(showcase),
        only_show_if_degraded=bool(only_show_if_degraded),
        created_at=at,
        updated_at=at,
    )
    component.services.set(list(services))
    ComponentStatusChange.objects.create(
        component=component, status=status, at=at, by=_user(actor), reason="created"
    )
    audit_record(
        actor=actor,
        action="status_component.create",
        obj=component,
        after={**_snapshot(component, _COMPONENT_FIELDS), "services": [s.pk for s in services]},
    )
    if rule == ComponentRule.DERIVED:
        mark_derive_dirty()
    status_changed()
    return component


@transaction.atomic
def component_update(
    *, actor: Actor, component: Component, changes: Mapping[str, Any]
) -> Component:
    """Change the fields in `changes` (name, description, group, services, rule,
    derive_map, showcase, only_show_if_degraded, position)."""
    require_for(actor, Action.STATUS_MANAGE)
    if component.archived_at is not None:
        raise Conflict("this component is archived; archived components do not change")
    before = {
        **_snapshot(component, _COMPONENT_FIELDS),
        "services": sorted(component.services.values_list("pk", flat=True)),
    }
    if "name" in changes:
        name = _text("name", changes["name"], limit=NAME_MAX, required=True)
        if Component.objects.filter(name__iexact=name).exclude(pk=component.pk).exists():
            raise Invalid("name", f"a component named {name!r} exists already")
        component.name = name
    if "description" in changes:
        component.description = _text("description", changes["description"], limit=DESCRIPTION_MAX)
    if "group" in changes:
        component.group = _group(changes["group"])
    if "position" in changes:
        component.position = _position(changes["position"])
    if "rule" in changes:
        component.rule = _choice("rule", changes["rule"], ComponentRule.values)
    if "derive_map" in changes:
        component.derive_map = check_derive_map(changes["derive_map"])
    for flag in ("showcase", "only_show_if_degraded"):
        if flag in changes:
            setattr(component, flag, bool(changes[flag]))
    component.updated_at = now()
    component.save()
    if "services" in changes:
        component.services.set(list(changes["services"]))
    after = {
        **_snapshot(component, _COMPONENT_FIELDS),
        "services": sorted(component.services.values_list("pk", flat=True)),
    }
    audit_record(
        actor=actor, action="status_component.update", obj=component, before=before, after=after
    )
    if component.rule == ComponentRule.DERIVED or before["rule"] == ComponentRule.DERIVED:
        mark_derive_dirty()
    status_changed()
    return component


@transaction.atomic
def component_move(*, actor: Actor, component: Component, offset: int) -> Component:
    """Move a component up (-1) or down (+1) among those of its group."""
    require_for(actor, Action.STATUS_MANAGE)
    siblings = list(
        Component.objects.select_for_update()
        .filter(group_id=component.group_id, archived_at__isnull=True)
        .order_by("position", "name", "pk")
    )
    index = next((i for i, c in enumerate(siblings) if c.pk == component.pk), None)
    if index is None:
        raise Conflict("this component is archived; archived components do not move")
    target = index + (1 if offset > 0 else -1)
    if not 0 <= target < len(siblings):
        return component
    siblings[index], siblings[target] = siblings[target], siblings[index]
    at = now()
    for position, sibling in enumerate(siblings):
        if sibling.position != position:
            Component.objects.filter(pk=sibling.pk).update(position=position, updated_at=at)
    component.refresh_from_db()
    status_changed()
    return component


@transaction.atomic
def group_move(*, actor: Actor, group: ComponentGroup, offset: int) -> ComponentGroup:
    require_for(actor, Action.STATUS_MANAGE)
    groups = list(
        ComponentGroup.objects.select_for_update()
        .filter(archived_at__isnull=True)
        .order_by("position", "name", "pk")
    )
    index = next((i for i, g in enumerate(groups) if g.pk == group.pk), None)
    if index is None:
        raise Conflict("this component group is archived; archived groups do not move")
    target = index + (1 if offset > 0 else -1)
    if not 0 <= target < len(groups):
        return group
    groups[index], groups[target] = groups[target], groups[index]
    at = now()
    for position, g in enumerate(groups):
        if g.position != position:
            ComponentGroup.objects.filter(pk=g.pk).update(position=position, updated_at=at)
    group.refresh_from_db()
    status_changed()
    return group


@transaction.atomic
def component_archive(*, actor: Actor, component: Component) -> Component:
    """Archive: gone from the public page, its history kept."""
    require_for(actor, Action.STATUS_MANAGE)
    if component.archived_at is not None:
        raise Conflict("this component is archived already")
    at = now()
    component.archived_at = at
    component.updated_at = at
    component.save(update_fields=["archived_at", "updated_at"])
    audit_record(actor=actor, action="status_component.archive", obj=component)
    status_changed()
    return component


def _settable(component: Component, field: str) -> None:
    if component.archived_at is not None:
        raise Invalid(field, f"the component {component.name!r} is archived")
    if component.rule == ComponentRule.DERIVED:
        raise Invalid(
            field,
            f"the component {component.name!r} follows its services' open incidents; "
            "set its rule to manual to set its status by hand",
        )


@transaction.atomic
def component_set_status(
    *, actor: Actor, component: Component, status: str, reason: str = ""
) -> Component:
    """Set a manual component's status by hand, with who and why in its history."""
    require_for(actor, Action.STATUS_PUBLISH)
    status = _choice("status", status, ComponentStatus.values)
    reason = _text("reason", reason, limit=REASON_MAX)
    _settable(component, "status")
    if component_status_write(
        component=component,
        status=status,
        by=_user(actor),
        reason=reason or "set by hand",
        at=now(),
    ):
        status_changed()
    return component


# --- public incidents --------------------------------------------------------------------


def _statuses(value: Mapping[Any, Any] | None, field: str = "components") -> dict[Component, str]:
    """{component (or its id): new status} checked: known, settable, known status."""
    result: dict[Component, str] = {}
    if not value:
        return result
    ids = [k.pk if isinstance(k, Component) else k for k in value]
    found = {
        c.pk: c for c in Component.objects.filter(pk__in=[i for i in ids if isinstance(i, int)])
    }
    for key, status in value.items():
        pk = key.pk if isinstance(key, Component) else key
        component = found.get(pk) if isinstance(pk, int) and not isinstance(pk, bool) else None
        if component is None:
            raise Invalid(field, f"no component with id {pk!r}")
        _settable(component, field)
        result[component] = _choice(field, status, ComponentStatus.values)
    return result


def _planned(statuses: Mapping[Component, str]) -> list[dict[str, Any]]:
    return [
        {"code": c.pk, "name": c.name, "old_status": c.status, "new_status": s}
        for c, s in statuses.items()
    ]


def _apply(
    planned: list[dict[str, Any]], *, by: Any, reason: str, at: dt.datetime
) -> list[dict[str, Any]]:
    """Set the planned component statuses; answers Statuspage's affected_components with
    the statuses as they were just before."""
    components = Component.objects.in_bulk([p["code"] for p in planned])
    affected = []
    for p in planned:
        component = components.get(p["code"])
        if component is None or component.archived_at is not None:
            continue
        old = component.status
        component_status_write(
            component=component, status=p["new_status"], by=by, reason=reason, at=at
        )
        affected.append(
            {
                "code": component.pk,
                "name": component.name,
                "old_status": old,
                "new_status": p["new_status"],
            }
        )
    return affected


def _emit(update: PublicUpdate, actor: Actor) -> None:
    data: dict[str, Any] = {"update_id": update.pk}
    if update.public_incident_id is not None:
        data["public_incident_id"] = update.public_incident_id
    else:
        data["maintenance_id"] = update.maintenance_id
    events.emit("public_update", incident=None, actor=actor, data=data)


def _link_note(incident: Incident, pi: PublicIncident, actor: Actor, linked: bool) -> None:
    text = (
        f"Linked to the public incident “{pi.title}” on the status page."
        if linked
        else f"Unlinked from the public incident “{pi.title}” on the status page."
    )
    timeline_append(
        incident=incident,
        kind=EntryKind.FIELD,
        actor=actor,
        text=text,
        data={"public_incident": pi.pk, "linked": linked},
    )


@transaction.atomic
def public_incident_create(
    *,
    actor: Actor,
    title: str,
    body: str,
    impact: str = PublicImpact.MINOR,
    status: str = PublicIncidentStatus.INVESTIGATING,
    components: Mapping[Any, str] | None = None,
    incidents: Sequence[Incident] = (),
    publish: bool = False,
) -> PublicIncident:
    """A public incident with its first message. A draft (the public sees nothing, no
    component changes) unless `publish`; `components` maps components to the status
    the message sets (applied when published)."""
    require_for(actor, Action.STATUS_PUBLISH)
    title = _text("title", title, limit=TITLE_MAX, required=True)
    body = _text("body", body, limit=BODY_MAX, required=True, line=False)
    impact = _choice("impact", impact, PublicImpact.values)
    status = _choice("status", status, PublicIncidentStatus.values)
    if status == PublicIncidentStatus.RESOLVED:
        raise Invalid("status", "a new public incident cannot start resolved")
    planned = _planned(_statuses(components))
    at = now()
    pi = PublicIncident.objects.create(
        title=title,
        status=status,
        impact=impact,
        created_at=at,
        updated_at=at,
        created_by=_user(actor),
    )
    pi.components.set([p["code"] for p in planned])
    update = PublicUpdate.objects.create(
        public_incident=pi,
        status=status,
        body=body,
        affected_components=planned,
        created_at=at,
        created_by=_user(actor),
    )
    for incident in incidents:
        pi.incidents.add(incident)
        _link_note(incident, pi, actor, True)
    audit_record(actor=actor, action="public_incident.create", obj=pi, after={"title": title})
    if publish:
        _publish(pi, actor, [update])
    return pi


def _publish(pi: PublicIncident, actor: Actor, updates: list[PublicUpdate]) -> None:
    at = now()
    if (
        PublicIncident.objects.filter(pk=pi.pk, published_at__isnull=True).update(
            published_at=at, updated_at=at
        )
        != 1
    ):
        raise Conflict("this public incident is published already")
    pi.published_at = at
    pi.updated_at = at
    for update in updates:
        update.affected_components = _apply(
            update.affected_components,
            by=_user(actor),
            reason=f"public incident: {pi.title}",
            at=at,
        )
        update.created_at = at
        update.save(update_fields=["affected_components", "created_at"])
    status_changed()
    for update in updates:
        _emit(update, actor)


@transaction.atomic
def public_incident_publish(*, actor: Actor, public_incident: PublicIncident) -> PublicIncident:
    """Make a draft public: its message and component statuses take effect now."""
    require_for(actor, Action.STATUS_PUBLISH)
    if public_incident.published_at is not None:
        raise Conflict("this public incident is published already")
    updates = list(public_incident.updates.order_by("created_at", "pk"))
    # a component made derived or archived since the draft was written is refused now
    for update in updates:
        _statuses({p["code"]: p["new_status"] for p in update.affected_components})
    _publish(public_incident, actor, updates)
    audit_record(actor=actor, action="public_incident.publish", obj=public_incident)
    return public_incident


@transaction.atomic
def public_incident_edit(
    *, actor: Actor, public_incident: PublicIncident, changes: Mapping[str, Any]
) -> PublicIncident:
    """Correct the title or impact (a draft: also its first message and components)."""
    require_for(actor, Action.STATUS_PUBLISH)
    pi = public_incident
    before = _snapshot(pi, ("title", "impact"))
    if "title" in changes:
        pi.title = _text("title", changes["title"], limit=TITLE_MAX, required=True)
    if "impact" in changes:
        pi.impact = _choice("impact", changes["impact"], PublicImpact.values)
    draft = pi.published_at is None
    if ("body" in changes or "components" in changes) and not draft:
        field = "body" if "body" in changes else "components"
        raise Invalid(field, "a published incident changes through a new update")
    if draft and ("body" in changes or "components" in changes):
        first = pi.updates.order_by("created_at", "pk").first()
        if first is not None:
            if "body" in changes:
                first.body = _text(
                    "body", changes["body"], limit=BODY_MAX, required=True, line=False
                )
            if "components" in changes:
                planned = _planned(_statuses(changes["components"]))
                first.affected_components = planned
                pi.components.set([p["code"] for p in planned])
            first.save(update_fields=["body", "affected_components"])
    pi.updated_at = now()
    pi.save(update_fields=["title", "impact", "updated_at"])
    audit_record(
        actor=actor,
        action="public_incident.update",
        obj=pi,
        before=before,
        after=_snapshot(pi, ("title", "impact")),
    )
    if not draft:
        status_changed()
    return pi


@transaction.atomic
def public_incident_post_update(
    *,
    actor: Actor,
    public_incident: PublicIncident,
    status: str,
    body: str,
    components: Mapping[Any, str] | None = None,
) -> PublicUpdate:
    """A new public message with its status (investigating → identified → monitoring →
    resolved) and the component statuses it sets. Resolving without component statuses
    returns the incident's hand-set components to operational."""
    require_for(actor, Action.STATUS_PUBLISH)
    pi = PublicIncident.objects.select_for_update().get(pk=public_incident.pk)
    if pi.published_at is None:
        raise Conflict("this public incident is a draft: publish it before posting updates")
    if pi.status == PublicIncidentStatus.RESOLVED:
        raise Conflict("this public incident is resolved; resolved incidents take no updates")
    status = _choice("status", status, PublicIncidentStatus.values)
    body = _text("body", body, limit=BODY_MAX, required=True, line=False)
    statuses = _statuses(components)
    if status == PublicIncidentStatus.RESOLVED and components is None:
        statuses = dict.fromkeys(
            pi.components.filter(archived_at__isnull=True, rule=ComponentRule.MANUAL),
            ComponentStatus.OPERATIONAL,
        )
    at = now()
    affected = _apply(
        _planned(statuses), by=_user(actor), reason=f"public incident: {pi.title}", at=at
    )
    update = PublicUpdate.objects.create(
        public_incident=pi,
        status=status,
        body=body,
        affected_components=affected,
        created_at=at,
        created_by=_user(actor),
    )
    pi.status = status
    pi.updated_at = at
    if status == PublicIncidentStatus.RESOLVED:
        pi.resolved_at = at
    pi.save(update_fields=["status", "updated_at", "resolved_at"])
    pi.components.add(*[c.pk for c in statuses])
    public_incident.status, public_incident.resolved_at = pi.status, pi.resolved_at
    status_changed()
    _emit(update, actor)
    return update


@transaction.atomic
def public_incident_link(
    *, actor: Actor, public_incident: PublicIncident, incident: Incident
) -> PublicIncident:
    """Link an internal incident (staff see the link; the public never does)."""
    require_for(actor, Action.STATUS_PUBLISH)
    if public_incident.incidents.filter(pk=incident.pk).exists():
        raise Conflict(f"{incident.ref} is linked already")
    public_incident.incidents.add(incident)
    _link_note(incident, public_incident, actor, True)
    return public_incident


@transaction.atomic
def public_incident_unlink(
    *, actor: Actor, public_incident: PublicIncident, incident: Incident
) -> PublicIncident:
    require_for(actor, Action.STATUS_PUBLISH)
    if not public_incident.incidents.filter(pk=incident.pk).exists():
        raise Conflict(f"{incident.ref} is not linked")
    public_incident.incidents.remove(incident)
    _link_note(incident, public_incident, actor, False)
    return public_incident


@transaction.atomic
def public_incident_delete_draft(*, actor: Actor, public_incident: PublicIncident) -> None:
    """A draft may be thrown away; a published incident stays on the record."""
    require_for(actor, Action.STATUS_PUBLISH)
    if public_incident.published_at is not None:
        raise Conflict("a published incident stays on the record; resolve it instead")
    audit_record(actor=actor, action="public_incident.delete", obj=public_incident)
    public_incident.delete()


# --- maintenances ------------------------------------------------------------------------


def clock_status(maintenance: PublicMaintenance, at: dt.datetime) -> str:
    if at < maintenance.scheduled_for:
        return MaintenanceStatus.SCHEDULED
    if at < maintenance.scheduled_until:
        return MaintenanceStatus.IN_PROGRESS
    return MaintenanceStatus.COMPLETED


def _components(value: Iterable[Any]) -> list[Component]:
    ids = [c.pk if isinstance(c, Component) else c for c in value]
    found = Component.objects.in_bulk([i for i in ids if isinstance(i, int)])
    result = []
    for pk in ids:
        component = found.get(pk) if isinstance(pk, int) and not isinstance(pk, bool) else None
        if component is None:
            raise Invalid("components", f"no component with id {pk!r}")
        if component.archived_at is not None:
            raise Invalid("components", f"the component {component.name!r} is archived")
        result.append(component)
    return result


def _times(start: Any, end: Any) -> tuple[dt.datetime, dt.datetime]:
    start = _check_moment("scheduled_for", start)
    end = _check_moment("scheduled_until", end)
    if end <= start:
        raise Invalid("scheduled_until", "must be after the start")
    return start, end


def _maintenance_message(m: PublicMaintenance, status: str) -> str:
    messages: dict[str, str] = {
        MaintenanceStatus.SCHEDULED: f"Maintenance scheduled: {m.title}.",
        MaintenanceStatus.IN_PROGRESS: "The scheduled maintenance is in progress.",
        MaintenanceStatus.VERIFYING: "The maintenance is being verified.",
        MaintenanceStatus.COMPLETED: "The scheduled maintenance has been completed.",
    }
    return messages[status]


@transaction.atomic
def maintenance_create(
    *,
    actor: Actor,
    title: str,
    body: str = "",
    components: Iterable[Any] = (),
    scheduled_for: Any = None,
    scheduled_until: Any = None,
    window: MaintenanceWindow | None = None,
    publish: bool = True,
) -> PublicMaintenance:
    """A public maintenance; from `window` its times are the window's (and follow it)."""
    require_for(actor, Action.STATUS_PUBLISH)
    title = _text("title", title, limit=TITLE_MAX, required=True)
    body = _text("body", body, limit=BODY_MAX, line=False)
    chosen = _components(components)
    if window is not None:
        if PublicMaintenance.objects.filter(window=window).exists():
            raise Conflict("this maintenance window is public already")
        start, end = window.starts_at, window.ends_at
    else:
        start, end = _times(scheduled_for, scheduled_until)
    at = now()
    m = PublicMaintenance(
        window=window,
        title=title,
        body=body,
        scheduled_for=start,
        scheduled_until=end,
        created_at=at,
        updated_at=at,
    )
    m.status = clock_status(m, at)
    m.save()
    m.components.set(chosen)
    audit_record(actor=actor, action="public_maintenance.create", obj=m, after={"title": title})
    if publish:
        _maintenance_publish(m, actor, at)
    return m


def _maintenance_publish(m: PublicMaintenance, actor: Actor, at: dt.datetime) -> None:
    if (
        PublicMaintenance.objects.filter(pk=m.pk, published_at__isnull=True).update(
            published_at=at, updated_at=at
        )
        != 1
    ):
        raise Conflict("this maintenance is published already")
    m.published_at = at
    update = PublicUpdate.objects.create(
        maintenance=m,
        status=m.status,
        body=m.body or _maintenance_message(m, m.status),
        affected_components=_maintenance_components(m, m.status, by=_user(actor), at=at),
        created_at=at,
        created_by=_user(actor),
    )
    mark_derive_dirty()
    status_changed()
    _emit(update, actor)


@transaction.atomic
def maintenance_publish(*, actor: Actor, maintenance: PublicMaintenance) -> PublicMaintenance:
    require_for(actor, Action.STATUS_PUBLISH)
    if maintenance.published_at is not None:
        raise Conflict("this maintenance is published already")
    _maintenance_publish(maintenance, actor, now())
    return maintenance


@transaction.atomic
def maintenance_edit(
    *, actor: Actor, maintenance: PublicMaintenance, changes: Mapping[str, Any]
) -> PublicMaintenance:
    """Change title, body, components, or (standalone ones) the times."""
    require_for(actor, Action.STATUS_PUBLISH)
    m = maintenance
    if m.status == MaintenanceStatus.COMPLETED:
        raise Conflict("this maintenance is completed; completed maintenances do not change")
    if "title" in changes:
        m.title = _text("title", changes["title"], limit=TITLE_MAX, required=True)
    if "body" in changes:
        m.body = _text("body", changes["body"], limit=BODY_MAX, line=False)
    if "scheduled_for" in changes or "scheduled_until" in changes:
        if m.window_id is not None:
            field = "scheduled_for" if "scheduled_for" in changes else "scheduled_until"
            raise Invalid(field, "follows its maintenance window; change the window instead")
        m.scheduled_for, m.scheduled_until = _times(
            changes.get("scheduled_for", m.scheduled_for),
            changes.get("scheduled_until", m.scheduled_until),
        )
        if not m.status_set_by_hand:
            m.status = clock_status(m, now())
    m.updated_at = now()
    m.save()
    if "components" in changes:
        m.components.set(_components(changes["components"]))
    audit_record(actor=actor, action="public_maintenance.update", obj=m)
    if m.published_at is not None:
        mark_derive_dirty()
        status_changed()
    return m


@transaction.atomic
def maintenance_post_update(
    *, actor: Actor, maintenance: PublicMaintenance, body: str, status: str | None = None
) -> PublicUpdate:
    """A public message; a status given by hand stops the status following the clock."""
    require_for(actor, Action.STATUS_PUBLISH)
    m = PublicMaintenance.objects.select_for_update().get(pk=maintenance.pk)
    if m.published_at is None:
        raise Conflict("this maintenance is a draft: publish it before posting updates")
    if m.status == MaintenanceStatus.COMPLETED:
        raise Conflict("this maintenance is completed; completed maintenances take no updates")
    body = _text("body", body, limit=BODY_MAX, required=True, line=False)
    at = now()
    affected: list[dict[str, Any]] = []
    if status is not None:
        status = _choice("status", status, MaintenanceStatus.values)
        if status != m.status:
            affected = _maintenance_components(m, status, by=_user(actor), at=at)
        m.status = status
        m.status_set_by_hand = True
    update = PublicUpdate.objects.create(
        maintenance=m,
        status=m.status,
        body=body,
        affected_components=affected,
        created_at=at,
        created_by=_user(actor),
    )
    m.updated_at = at
    m.save(update_fields=["status", "status_set_by_hand", "updated_at"])
    maintenance.status, maintenance.status_set_by_hand = m.status, m.status_set_by_hand
    mark_derive_dirty()
    status_changed()
    _emit(update, actor)
    return update


@transaction.atomic
def maintenance_delete(*, actor: Actor, maintenance: PublicMaintenance) -> None:
    """Cancel: the maintenance disappears from the page (its window stays)."""
    require_for(actor, Action.STATUS_PUBLISH)
    was_public = maintenance.published_at is not None
    if was_public:  # its hand-set components come out of maintenance
        _maintenance_components(maintenance, MaintenanceStatus.COMPLETED, by=_user(actor), at=now())
    audit_record(actor=actor, action="public_maintenance.delete", obj=maintenance)
    maintenance.delete()
    if was_public:
        mark_derive_dirty()
        status_changed()


def _maintenance_components(
    m: PublicMaintenance, status: str, *, by: Any, at: dt.datetime
) -> list[dict[str, Any]]:
    """Hand-set components follow their maintenance: under maintenance while it is in
    progress or verifying, operational again when it completes (only those still under
    maintenance). Derived ones follow it through the derive module. Statuspage's
    affected_components of the change."""
    if status in (MaintenanceStatus.IN_PROGRESS, MaintenanceStatus.VERIFYING):
        new, only_from = ComponentStatus.MAINTENANCE, None
    elif status == MaintenanceStatus.COMPLETED:
        new, only_from = ComponentStatus.OPERATIONAL, ComponentStatus.MAINTENANCE
    else:
        return []
    affected = []
    manual = m.components.filter(archived_at__isnull=True, rule=ComponentRule.MANUAL)
    for component in manual.order_by("pk"):
        if only_from is not None and component.status != only_from:
            continue
        old = component.status
        reason = "maintenance in progress" if only_from is None else "maintenance completed"
        if component_status_write(component=component, status=new, by=by, reason=reason, at=at):
            affected.append(
                {"code": component.pk, "name": component.name, "old_status": old, "new_status": new}
            )
    return affected


def maintenances_follow_clock(at: dt.datetime) -> int:
    """The engine's step: published maintenances whose status follows the clock move to
    in progress and completed as their times pass, and take their window's times;
    each move is a public update. Compare-and-set, so two workers move each once."""
    moved = 0
    candidates = list(
        PublicMaintenance.objects.filter(published_at__isnull=False, status_set_by_hand=False)
        .exclude(status=MaintenanceStatus.COMPLETED)
        .select_related("window")
    )
    for m in candidates:
        start, end = m.scheduled_for, m.scheduled_until
        if m.window is not None:
            start, end = m.window.starts_at, m.window.ends_at
        probe = PublicMaintenance(scheduled_for=start, scheduled_until=end)
        status = clock_status(probe, at)
        if status == m.status and (start, end) == (m.scheduled_for, m.scheduled_until):
            continue
        with transaction.atomic():
            if (
                PublicMaintenance.objects.filter(
                    pk=m.pk,
                    status=m.status,
                    status_set_by_hand=False,
                    scheduled_for=m.scheduled_for,
                    scheduled_until=m.scheduled_until,
                ).update(status=status, scheduled_for=start, scheduled_until=end, updated_at=at)
                != 1
            ):
                continue
            if status != m.status:
                m.status = status
                update = PublicUpdate.objects.create(
                    maintenance=m,
                    status=status,
                    body=_maintenance_message(m, status),
                    affected_components=_maintenance_components(m, status, by=None, at=at),
                    created_at=at,
                )
                _emit(update, Actor.system("status page"))
            mark_derive_dirty()
            status_changed()
            moved += 1
    return moved


# --- branding ----------------------------------------------------------------------------


_PAGE_FIELDS = ("name", "intro", "brand_colour", "time_zone")


@transaction.atomic
def page_configure(
    *,
    actor: Actor,
    changes: Mapping[str, Any],
    logo: bytes | None = None,
    remove_logo: bool = False,
) -> StatusPage:
    """Name, intro, brand colour (AA contrast on white), time zone, logo (PNG, JPEG, GIF
    or WebP, at most 512 KB)."""
    require_for(actor, Action.STATUS_CONFIGURE)
    page = status_page()
    before = {**_snapshot(page, _PAGE_FIELDS), "logo": page.logo.name}
    if "name" in changes:
        page.name = _text("name", changes["name"], limit=NAME_MAX, required=True)
    if "intro" in changes:
        page.intro = _text("intro", changes["intro"], limit=500, line=False)
    if "brand_colour" in changes:
        page.brand_colour = check_colour(changes["brand_colour"])
    if "time_zone" in changes:
        tz = changes["time_zone"]
        if not is_zone(tz):
            raise Invalid("time_zone", "must be a time zone name such as Europe/Paris or UTC")
        page.time_zone = tz
    if logo is not None:
        if len(logo) > LOGO_MAX_BYTES:
            raise Invalid("logo", f"must be at most {LOGO_MAX_BYTES // 1024} KB")
        kind = logo_type(logo)
        if kind is None:
            raise Invalid("logo", "must be a PNG, JPEG, GIF or WebP image")
        old = page.logo.name
        name = default_storage.save(
            f"status/logo-{secrets.token_hex(8)}.{kind[0]}", ContentFile(logo)
        )
        page.logo.name = name
        if old:
            transaction.on_commit(lambda: default_storage.delete(old))
    elif remove_logo and page.logo:
        old = page.logo.name
        page.logo.name = ""
        transaction.on_commit(lambda: default_storage.delete(old))
    page.save(update_fields=["name", "intro", "brand_colour", "time_zone", "logo"])
    audit_record(
        actor=actor,
        action="status_page.configure",
        obj=page,
        before=before,
        after={**_snapshot(page, _PAGE_FIELDS), "logo": page.logo.name},
    )
    status_changed()
    page.refresh_from_db()
    return page
