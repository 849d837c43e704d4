"""REST API to run the status page (staff): components, groups, public incidents and
their updates, public maintenances, the page's branding. Under /api/v1/status/.

Staff read everything here; for anyone else every route answers 404. Staff write public
incidents, updates, component statuses and maintenances; managers and administrators
change components and groups; administrators the branding (403 otherwise).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Annotated, Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router
from ninja import Schema as NinjaSchema
from pydantic import Field

from tocsin.accounts.api_auth import user_from_request
from tocsin.catalog.models import Service
from tocsin.comms import statuspage
from tocsin.comms import statuspage_selectors as selectors
from tocsin.comms.models import (
    Component,
    ComponentGroup,
    ComponentRule,
    ComponentStatus,
    MaintenanceStatus,
    PublicImpact,
    PublicIncident,
    PublicIncidentStatus,
    PublicMaintenance,
    PublicUpdate,
    StatusPage,
)
from tocsin.comms.services import status_page
from tocsin.core.api import (
    ERRORS,
    BodyId,
    Id,
    InSchema,
    Paging,
    Ref,
    Text,
    actor_from_request,
    idempotent_create,
    page,
    ref,
)
from tocsin.core.errors import Invalid, NotFound
from tocsin.incidents.models import Incident
from tocsin.incidents.selectors import access_incident

router = Router(tags=["status page"])

Name = Annotated[Text, Field(max_length=100)]
Title = Annotated[Text, Field(max_length=200)]
Body = Annotated[Text, Field(max_length=20_000)]
Short = Annotated[Text, Field(max_length=300)]
Position = Annotated[int, Field(ge=0, le=10_000, strict=True)]


# --- input -------------------------------------------------------------------------------


class GroupIn(InSchema):
    name: Name
    description: Short = ""
    position: Position | None = None


class GroupPatchIn(InSchema):
    name: Name | None = None
    description: Short | None = None
    position: Position | None = None


class ComponentIn(InSchema):
    name: Name
    description: Short = ""
    group: BodyId | None = Field(None, description="the component group's id")
    services: list[BodyId] = Field(default_factory=list, description="service ids")
    rule: str = Field(
        ComponentRule.MANUAL,
        description="manual (set by hand) or derived",
        json_schema_extra={"enum": list(ComponentRule.values)},
    )
    derive_map: dict[str, str] | None = Field(
        None, description='derived rule: priority "1"–"4" → status (defaults P1 major_outage…)'
    )
    status: str = Field(
        ComponentStatus.OPERATIONAL,
        description="the status it starts with",
        json_schema_extra={"enum": list(ComponentStatus.values)},
    )
    showcase: bool = True
    only_show_if_degraded: bool = False
    position: Position | None = None


class ComponentPatchIn(InSchema):
    name: Name | None = None
    description: Short | None = None
    group: BodyId | None = Field(None, description="null: no group")
    services: list[BodyId] | None = None
    rule: str | None = None
    derive_map: dict[str, str] | None = None
    showcase: bool | None = None
    only_show_if_degraded: bool | None = None
    position: Position | None = None


class ComponentStatusIn(InSchema):
    status: str = Field(json_schema_extra={"enum": list(ComponentStatus.values)})
    reason: Annotated[Text, Field(max_length=200)] = ""


class ComponentStatusItem(InSchema):
    id: BodyId
    status: str = Field(json_schema_extra={"enum": list(ComponentStatus.values)})


class PublicIncidentIn(InSchema):
    title: Title = Field(description="the public title (not the internal one)")
    body: Body = Field(description="the first public message")
    impact: str = Field(PublicImpact.MINOR, json_schema_extra={"enum": list(PublicImpact.values)})
    status: str = Field(
        PublicIncidentStatus.INVESTIGATING,
        json_schema_extra={"enum": list(PublicIncidentStatus.values)},
    )
    components: list[ComponentStatusItem] = Field(default_factory=list)
    incidents: list[Annotated[Text, Field(max_length=30)]] = Field(
        default_factory=list, description='internal incidents to link, "INC-42" (never public)'
    )
    publish: bool = Field(False, description="false: a draft the public does not see")


class PublicIncidentPatchIn(InSchema):
    title: Title | None = None
    impact: str | None = None
    body: Body | None = Field(None, description="drafts only: the first message")
    components: list[ComponentStatusItem] | None = Field(None, description="drafts only")


class UpdateIn(InSchema):
    status: str = Field(json_schema_extra={"enum": list(PublicIncidentStatus.values)})
    body: Body
    components: list[ComponentStatusItem] | None = Field(
        None,
        description="component statuses this update sets; resolving without it "
        "returns the incident's hand-set components to operational",
    )


class LinkIn(InSchema):
    incident: Annotated[Text, Field(max_length=30)] = Field(description='"INC-42" or 42')


class MaintenanceIn(InSchema):
    window: BodyId | None = Field(
        None, description="a maintenance window's id: its times are used (and followed)"
    )
    title: Title
    body: Body = ""
    components: list[BodyId] = Field(default_factory=list)
    scheduled_for: dt.datetime | None = None
    scheduled_until: dt.datetime | None = None
    publish: bool = True


class MaintenancePatchIn(InSchema):
    title: Title | None = None
    body: Body | None = None
    components: list[BodyId] | None = None
    scheduled_for: dt.datetime | None = None
    scheduled_until: dt.datetime | None = None


class MaintenanceUpdateIn(InSchema):
    body: Body
    status: str | None = Field(
        None,
        json_schema_extra={"enum": list(MaintenanceStatus.values)},
        description="given: the status stops following the clock",
    )


class PageIn(InSchema):
    name: Name | None = None
    intro: Annotated[Text, Field(max_length=500)] | None = None
    brand_colour: Annotated[Text, Field(max_length=20)] | None = Field(
        None, description="#rrggbb with at least 4.5:1 contrast on white"
    )
    time_zone: Annotated[Text, Field(max_length=64)] | None = None
    remove_logo: bool = False


class ListQuery(NinjaSchema):
    include_archived: bool = False


class IncidentQuery(NinjaSchema):
    state: str = Field("", description='"draft", "open", "resolved" or empty for all')


# --- output ------------------------------------------------------------------------------


class GroupOut(NinjaSchema):
    id: int
    name: str
    description: str
    position: int
    archived: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class GroupList(NinjaSchema):
    items: list[GroupOut]
    count: int


class ComponentOut(NinjaSchema):
    id: int
    name: str
    description: str
    group: Ref | None
    position: int
    services: list[Ref]
    status: str
    rule: str
    derive_map: dict[str, str]
    showcase: bool
    only_show_if_degraded: bool
    archived: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class ComponentList(NinjaSchema):
    items: list[ComponentOut]
    count: int


class UpdateOut(NinjaSchema):
    id: int
    status: str
    body: str
    affected_components: list[dict[str, Any]]
    created_at: dt.datetime
    created_by: str | None


class LinkedIncident(NinjaSchema):
    id: int
    number: str
    title: str


class ComponentStatusOut(NinjaSchema):
    id: int
    name: str
    status: str


class PublicIncidentOut(NinjaSchema):
    id: int
    title: str
    status: str
    impact: str
    published: bool
    published_at: dt.datetime | None
    resolved_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    components: list[ComponentStatusOut]
    incidents: list[LinkedIncident] = Field(description="internal incidents (staff only)")
    updates: list[UpdateOut] = Field(description="newest first")


class PublicIncidentList(NinjaSchema):
    items: list[PublicIncidentOut]
    count: int


class MaintenanceOut(NinjaSchema):
    id: int
    title: str
    body: str
    status: str
    status_set_by_hand: bool
    window: int | None
    scheduled_for: dt.datetime
    scheduled_until: dt.datetime
    published: bool
    published_at: dt.datetime | None
    components: list[ComponentStatusOut]
    updates: list[UpdateOut]
    created_at: dt.datetime
    updated_at: dt.datetime


class MaintenanceList(NinjaSchema):
    items: list[MaintenanceOut]
    count: int


class PageOut(NinjaSchema):
    name: str
    intro: str
    brand_colour: str
    time_zone: str
    logo: bool
    revision: int
    changed_at: dt.datetime


# --- serialising -------------------------------------------------------------------------


def group_json(g: ComponentGroup) -> dict[str, Any]:
    return {
        "id": g.pk,
        "name": g.name,
        "description": g.description,
        "position": g.position,
        "archived": g.archived_at is not None,
        "created_at": g.created_at,
        "updated_at": g.updated_at,
    }


def component_json(c: Component) -> dict[str, Any]:
    return {
        "id": c.pk,
        "name": c.name,
        "description": c.description,
        "group": ref(c.group),
        "position": c.position,
        "services": [{"id": s.pk, "name": s.name} for s in c.services.all()],
        "status": c.status,
        "rule": c.rule,
        "derive_map": {**statuspage.DEFAULT_DERIVE_MAP, **(c.derive_map or {})},
        "showcase": c.showcase,
        "only_show_if_degraded": c.only_show_if_degraded,
        "archived": c.archived_at is not None,
        "created_at": c.created_at,
        "updated_at": c.updated_at,
    }


def update_json(u: PublicUpdate) -> dict[str, Any]:
    return {
        "id": u.pk,
        "status": u.status,
        "body": u.body,
        "affected_components": u.affected_components,
        "created_at": u.created_at,
        "created_by": u.created_by.username if u.created_by else None,
    }


def _components_out(components: Sequence[Component]) -> list[dict[str, Any]]:
    return [{"id": c.pk, "name": c.name, "status": c.status} for c in components]


def public_incident_json(pi: PublicIncident) -> dict[str, Any]:
    return {
        "id": pi.pk,
        "title": pi.title,
        "status": pi.status,
        "impact": pi.impact,
        "published": pi.published_at is not None,
        "published_at": pi.published_at,
        "resolved_at": pi.resolved_at,
        "created_at": pi.created_at,
        "updated_at": pi.updated_at,
        "components": _components_out(list(pi.components.all())),
        "incidents": [
            {"id": i.number, "number": i.ref, "title": i.title} for i in pi.incidents.all()
        ],
        "updates": [
            update_json(u)
            for u in pi.updates.select_related("created_by").order_by("-created_at", "-pk")
        ],
    }


def maintenance_json(m: PublicMaintenance) -> dict[str, Any]:
    return {
        "id": m.pk,
        "title": m.title,
        "body": m.body,
        "status": m.status,
        "status_set_by_hand": m.status_set_by_hand,
        "window": m.window_id,
        "scheduled_for": m.scheduled_for,
        "scheduled_until": m.scheduled_until,
        "published": m.published_at is not None,
        "published_at": m.published_at,
        "components": _components_out(list(m.components.all())),
        "updates": [
            update_json(u)
            for u in m.updates.select_related("created_by").order_by("-created_at", "-pk")
        ],
        "created_at": m.created_at,
        "updated_at": m.updated_at,
    }


def page_json(p: StatusPage) -> dict[str, Any]:
    return {
        "name": p.name,
        "intro": p.intro,
        "brand_colour": p.brand_colour,
        "time_zone": p.time_zone,
        "logo": bool(p.logo),
        "revision": p.revision,
        "changed_at": p.changed_at,
    }


# --- helpers -----------------------------------------------------------------------------


def _staff(request: HttpRequest) -> Any:
    user = user_from_request(request)
    if not selectors.may_view(user):
        raise NotFound("not found")
    return user


def _services(ids: Sequence[int]) -> list[Service]:
    found = Service.objects.in_bulk(list(ids))
    missing = [i for i in ids if i not in found]
    if missing:
        raise Invalid("services", f"no service with id {missing[0]}")
    return [found[i] for i in ids]


def _group(user: Any, group_id: int | None) -> ComponentGroup | None:
    if group_id is None:
        return None
    try:
        return selectors.group_get(group_id, user=user)
    except NotFound as exc:
        raise Invalid("group", exc.message) from None


def _statuses(items: Sequence[ComponentStatusItem] | None) -> dict[int, str] | None:
    if items is None:
        return None
    result: dict[int, str] = {}
    for item in items:
        if item.id in result:
            raise Invalid("components", f"component {item.id} is named twice")
        result[item.id] = item.status
    return result


def _incident(user: Any, value: str) -> Incident:
    try:
        return access_incident(user, value)
    except NotFound as exc:
        raise Invalid("incident", exc.message) from None


# --- groups ------------------------------------------------------------------------------


@router.get("/status/component-groups", response={200: GroupList, **ERRORS})
def list_groups(
    request: HttpRequest, filters: Query[ListQuery], paging: Query[Paging]
) -> dict[str, Any]:
    """Component groups in their order."""
    user = _staff(request)
    return page(
        selectors.group_list(user=user, include_archived=filters.include_archived),
        paging,
        group_json,
    )


@router.post("/status/component-groups", response={201: GroupOut, **ERRORS})
def create_group(request: HttpRequest, payload: GroupIn) -> HttpResponse:
    """Managers and administrators."""
    _staff(request)
    return idempotent_create(
        request,
        lambda: group_json(
            statuspage.group_create(
                actor=actor_from_request(request),
                name=payload.name,
                description=payload.description,
                position=payload.position,
            )
        ),
    )


@router.get("/status/component-groups/{group_id}", response={200: GroupOut, **ERRORS})
def get_group(request: HttpRequest, group_id: Id) -> dict[str, Any]:
    return group_json(selectors.group_get(group_id, user=_staff(request)))


@router.patch("/status/component-groups/{group_id}", response={200: GroupOut, **ERRORS})
def patch_group(request: HttpRequest, group_id: Id, payload: GroupPatchIn) -> dict[str, Any]:
    group = selectors.group_get(group_id, user=_staff(request))
    changes = payload.model_dump(exclude_unset=True)
    for name, value in changes.items():
        if value is None:
            raise Invalid(name, "must not be null")
    return group_json(
        statuspage.group_update(actor=actor_from_request(request), group=group, changes=changes)
    )


@router.delete("/status/component-groups/{group_id}", response={200: GroupOut, **ERRORS})
def archive_group(request: HttpRequest, group_id: Id) -> dict[str, Any]:
    """Archive; its components stay, ungrouped."""
    group = selectors.group_get(group_id, user=_staff(request))
    return group_json(statuspage.group_archive(actor=actor_from_request(request), group=group))


# --- components --------------------------------------------------------------------------


@router.get("/status/components", response={200: ComponentList, **ERRORS})
def list_components(
    request: HttpRequest, filters: Query[ListQuery], paging: Query[Paging]
) -> dict[str, Any]:
    """Components by group and position."""
    user = _staff(request)
    return page(
        selectors.component_list(user=user, include_archived=filters.include_archived),
        paging,
        component_json,
    )


@router.post("/status/components", response={201: ComponentOut, **ERRORS})
def create_component(request: HttpRequest, payload: ComponentIn) -> HttpResponse:
    """Managers and administrators."""
    user = _staff(request)

    def create() -> dict[str, Any]:
        component = statuspage.component_create(
            actor=actor_from_request(request),
            name=payload.name,
            description=payload.description,
            group=_group(user, payload.group),
            services=_services(payload.services),
            rule=payload.rule,
            derive_map=payload.derive_map,
            status=payload.status,
            showcase=payload.showcase,
            only_show_if_degraded=payload.only_show_if_degraded,
            position=payload.position,
        )
        return component_json(component)

    return idempotent_create(request, create)


@router.get("/status/components/{component_id}", response={200: ComponentOut, **ERRORS})
def get_component(request: HttpRequest, component_id: Id) -> dict[str, Any]:
    return component_json(selectors.component_get(component_id, user=_staff(request)))


@router.patch("/status/components/{component_id}", response={200: ComponentOut, **ERRORS})
def patch_component(
    request: HttpRequest, component_id: Id, payload: ComponentPatchIn
) -> dict[str, Any]:
    """Change the fields sent (`services` replaces the list; `group: null` ungroups)."""
    user = _staff(request)
    component = selectors.component_get(component_id, user=user)
    sent = payload.model_dump(exclude_unset=True)
    changes: dict[str, Any] = {}
    for name, value in sent.items():
        if name == "group":
            changes["group"] = _group(user, value)
        elif value is None and name != "derive_map":
            raise Invalid(name, "must not be null")
        elif name == "services":
            changes["services"] = _services(value)
        else:
            changes[name] = value
    return component_json(
        statuspage.component_update(
            actor=actor_from_request(request), component=component, changes=changes
        )
    )


@router.delete("/status/components/{component_id}", response={200: ComponentOut, **ERRORS})
def archive_component(request: HttpRequest, component_id: Id) -> dict[str, Any]:
    """Archive: off the public page, its history kept."""
    component = selectors.component_get(component_id, user=_staff(request))
    return component_json(
        statuspage.component_archive(actor=actor_from_request(request), component=component)
    )


@router.post("/status/components/{component_id}/status", response={200: ComponentOut, **ERRORS})
def set_component_status(
    request: HttpRequest, component_id: Id, payload: ComponentStatusIn
) -> dict[str, Any]:
    """Set a manual component's status by hand (a derived one answers 422)."""
    component = selectors.component_get(component_id, user=_staff(request))
    return component_json(
        statuspage.component_set_status(
            actor=actor_from_request(request),
            component=component,
            status=payload.status,
            reason=payload.reason,
        )
    )


# --- public incidents --------------------------------------------------------------------


@router.get("/status/incidents", response={200: PublicIncidentList, **ERRORS})
def list_public_incidents(
    request: HttpRequest, filters: Query[IncidentQuery], paging: Query[Paging]
) -> dict[str, Any]:
    """Public incidents, drafts included, newest first."""
    user = _staff(request)
    if filters.state not in ("", "draft", "open", "resolved"):
        raise Invalid("state", "must be draft, open, resolved or empty")
    return page(
        selectors.public_incident_list(user=user, state=filters.state),
        paging,
        public_incident_json,
    )


@router.post("/status/incidents", response={201: PublicIncidentOut, **ERRORS})
def create_public_incident(request: HttpRequest, payload: PublicIncidentIn) -> HttpResponse:
    """A draft unless `publish`; its first message and the component statuses it sets."""
    user = _staff(request)

    def create() -> dict[str, Any]:
        pi = statuspage.public_incident_create(
            actor=actor_from_request(request),
            title=payload.title,
            body=payload.body,
            impact=payload.impact,
            status=payload.status,
            components=_statuses(payload.components),
            incidents=[_incident(user, i) for i in payload.incidents],
            publish=payload.publish,
        )
        return public_incident_json(pi)

    return idempotent_create(request, create)


@router.get("/status/incidents/{pi_id}", response={200: PublicIncidentOut, **ERRORS})
def get_public_incident(request: HttpRequest, pi_id: Id) -> dict[str, Any]:
    return public_incident_json(selectors.public_incident_get(pi_id, user=_staff(request)))


@router.patch("/status/incidents/{pi_id}", response={200: PublicIncidentOut, **ERRORS})
def patch_public_incident(
    request: HttpRequest, pi_id: Id, payload: PublicIncidentPatchIn
) -> dict[str, Any]:
    """Correct the title or impact; a draft also its first message and components."""
    pi = selectors.public_incident_get(pi_id, user=_staff(request))
    changes: dict[str, Any] = {}
    for name, value in payload.model_dump(exclude_unset=True).items():
        if value is None:
            raise Invalid(name, "must not be null")
        changes[name] = value
    if "components" in changes:
        changes["components"] = _statuses(payload.components)
    statuspage.public_incident_edit(
        actor=actor_from_request(request), public_incident=pi, changes=changes
    )
    return public_incident_json(
        selectors.public_incident_get(pi_id, user=user_from_request(request))
    )


@router.delete("/status/incidents/{pi_id}", response={204: None, **ERRORS})
def delete_public_incident(request: HttpRequest, pi_id: Id) -> tuple[int, None]:
    """Drafts only (409 once published)."""
    pi = selectors.public_incident_get(pi_id, user=_staff(request))
    statuspage.public_incident_delete_draft(actor=actor_from_request(request), public_incident=pi)
    return 204, None


@router.post("/status/incidents/{pi_id}/publish", response={200: PublicIncidentOut, **ERRORS})
def publish_public_incident(request: HttpRequest, pi_id: Id) -> dict[str, Any]:
    """Make a draft public (409 if it is already)."""
    pi = selectors.public_incident_get(pi_id, user=_staff(request))
    statuspage.public_incident_publish(actor=actor_from_request(request), public_incident=pi)
    return public_incident_json(
        selectors.public_incident_get(pi_id, user=user_from_request(request))
    )


@router.post("/status/incidents/{pi_id}/updates", response={201: PublicIncidentOut, **ERRORS})
def post_public_update(request: HttpRequest, pi_id: Id, payload: UpdateIn) -> HttpResponse:
    """A new public message; 409 on a draft or a resolved incident."""
    user = _staff(request)
    pi = selectors.public_incident_get(pi_id, user=user)

    def create() -> dict[str, Any]:
        statuspage.public_incident_post_update(
            actor=actor_from_request(request),
            public_incident=pi,
            status=payload.status,
            body=payload.body,
            components=_statuses(payload.components),
        )
        return public_incident_json(selectors.public_incident_get(pi_id, user=user))

    return idempotent_create(request, create)


@router.post("/status/incidents/{pi_id}/links", response={200: PublicIncidentOut, **ERRORS})
def link_incident(request: HttpRequest, pi_id: Id, payload: LinkIn) -> dict[str, Any]:
    """Link an internal incident (staff see it; never shown publicly)."""
    user = _staff(request)
    pi = selectors.public_incident_get(pi_id, user=user)
    statuspage.public_incident_link(
        actor=actor_from_request(request),
        public_incident=pi,
        incident=_incident(user, payload.incident),
    )
    return public_incident_json(selectors.public_incident_get(pi_id, user=user))


@router.delete("/status/incidents/{pi_id}/links/{ref}", response={200: PublicIncidentOut, **ERRORS})
def unlink_incident(request: HttpRequest, pi_id: Id, ref: str) -> dict[str, Any]:
    user = _staff(request)
    pi = selectors.public_incident_get(pi_id, user=user)
    statuspage.public_incident_unlink(
        actor=actor_from_request(request),
        public_incident=pi,
        incident=access_incident(user, ref),
    )
    return public_incident_json(selectors.public_incident_get(pi_id, user=user))


# --- maintenances ------------------------------------------------------------------------


@router.get("/status/maintenances", response={200: MaintenanceList, **ERRORS})
def list_maintenances(request: HttpRequest, paging: Query[Paging]) -> dict[str, Any]:
    return page(selectors.maintenance_list(user=_staff(request)), paging, maintenance_json)


@router.post("/status/maintenances", response={201: MaintenanceOut, **ERRORS})
def create_maintenance(request: HttpRequest, payload: MaintenanceIn) -> HttpResponse:
    """Standalone (scheduled_for, scheduled_until) or from a maintenance window
    (`window`: its times, followed when the window changes)."""
    user = _staff(request)

    def create() -> dict[str, Any]:
        window = None
        if payload.window is not None:
            try:
                window = selectors.window_get(payload.window, user=user)
            except NotFound as exc:
                raise Invalid("window", exc.message) from None
            if payload.scheduled_for or payload.scheduled_until:
                raise Invalid("scheduled_for", "comes from the maintenance window; leave it out")
        elif payload.scheduled_for is None:
            raise Invalid("scheduled_for", "is required without a window")
        elif payload.scheduled_until is None:
            raise Invalid("scheduled_until", "is required without a window")
        m = statuspage.maintenance_create(
            actor=actor_from_request(request),
            title=payload.title,
            body=payload.body,
            components=payload.components,
            scheduled_for=payload.scheduled_for,
            scheduled_until=payload.scheduled_until,
            window=window,
            publish=payload.publish,
        )
        return maintenance_json(m)

    return idempotent_create(request, create)


@router.get("/status/maintenances/{m_id}", response={200: MaintenanceOut, **ERRORS})
def get_maintenance(request: HttpRequest, m_id: Id) -> dict[str, Any]:
    return maintenance_json(selectors.maintenance_get(m_id, user=_staff(request)))


@router.patch("/status/maintenances/{m_id}", response={200: MaintenanceOut, **ERRORS})
def patch_maintenance(
    request: HttpRequest, m_id: Id, payload: MaintenancePatchIn
) -> dict[str, Any]:
    user = _staff(request)
    m = selectors.maintenance_get(m_id, user=user)
    changes: dict[str, Any] = {}
    for name, value in payload.model_dump(exclude_unset=True).items():
        if value is None:
            raise Invalid(name, "must not be null")
        changes[name] = value
    statuspage.maintenance_edit(actor=actor_from_request(request), maintenance=m, changes=changes)
    return maintenance_json(selectors.maintenance_get(m_id, user=user))


@router.delete("/status/maintenances/{m_id}", response={204: None, **ERRORS})
def delete_maintenance(request: HttpRequest, m_id: Id) -> tuple[int, None]:
    m = selectors.maintenance_get(m_id, user=_staff(request))
    statuspage.maintenance_delete(actor=actor_from_request(request), maintenance=m)
    return 204, None


@router.post("/status/maintenances/{m_id}/publish", response={200: MaintenanceOut, **ERRORS})
def publish_maintenance(request: HttpRequest, m_id: Id) -> dict[str, Any]:
    user = _staff(request)
    m = selectors.maintenance_get(m_id, user=user)
    statuspage.maintenance_publish(actor=actor_from_request(request), maintenance=m)
    return maintenance_json(selectors.maintenance_get(m_id, user=user))


@router.post("/status/maintenances/{m_id}/updates", response={201: MaintenanceOut, **ERRORS})
def post_maintenance_update(
    request: HttpRequest, m_id: Id, payload: MaintenanceUpdateIn
) -> HttpResponse:
    user = _staff(request)
    m = selectors.maintenance_get(m_id, user=user)

    def create() -> dict[str, Any]:
        statuspage.maintenance_post_update(
            actor=actor_from_request(request),
            maintenance=m,
            body=payload.body,
            status=payload.status,
        )
        return maintenance_json(selectors.maintenance_get(m_id, user=user))

    return idempotent_create(request, create)


# --- the page ----------------------------------------------------------------------------


@router.get("/status/page", response={200: PageOut, **ERRORS})
def get_page(request: HttpRequest) -> dict[str, Any]:
    _staff(request)
    return page_json(status_page())


@router.put("/status/page", response={200: PageOut, **ERRORS})
def put_page(request: HttpRequest, payload: PageIn) -> dict[str, Any]:
    """Administrators. The fields sent change; the logo is uploaded with PUT
    /status/page/logo (the image as the body)."""
    _staff(request)
    changes = {
        k: v
        for k, v in payload.model_dump(exclude_unset=True).items()
        if k != "remove_logo" and v is not None
    }
    return page_json(
        statuspage.page_configure(
            actor=actor_from_request(request), changes=changes, remove_logo=payload.remove_logo
        )
    )


@router.put("/status/page/logo", response={200: PageOut, **ERRORS})
def put_logo(request: HttpRequest) -> dict[str, Any]:
    """Administrators: the body is the image (PNG, JPEG, GIF or WebP, ≤ 512 KB)."""
    _staff(request)
    return page_json(
        statuspage.page_configure(actor=actor_from_request(request), changes={}, logo=request.body)
    )
