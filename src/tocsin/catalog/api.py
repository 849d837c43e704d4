"""REST API for services and the category taxonomy."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any, Literal

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema
from pydantic import Field, StrictBool, StrictInt, create_model

from tocsin.accounts.api_auth import user_from_request
from tocsin.accounts.permissions import Action, require
from tocsin.accounts.selectors import team_get
from tocsin.catalog import hooks, selectors, services, snippets
from tocsin.catalog.models import Integration, IntegrationKind, Service
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
    json_response,
    lookup,
    one_of,
    page,
    ref,
    to_json,
)
from tocsin.core.errors import Invalid

router = Router(tags=["catalog"])

WAR_ROOM_FIELDS = ("chat_url_template", "video_url_template")

Name = Annotated[Text, Field(min_length=1, max_length=100)]


# --- services ----------------------------------------------------------------------------


SeverityPair = Annotated[list[StrictInt], Field(min_length=2, max_length=2)]
SeverityMap = dict[Literal["critical", "error", "warning", "info"], SeverityPair]
LabelName = Annotated[Text, Field(min_length=1, max_length=100)]


class AlertSettings(Schema):
    severity_map: dict[str, list[int]] = Field(
        description="monitoring severity → [impact, urgency], each 1 (highest) … 4"
    )
    auto_resolve: bool = Field(description="resolve the incident when all its alerts resolve")
    grouping: Annotated[str, one_of(["key", "labels"])] = Field(
        description='"key" (group or dedup key) or "labels"'
    )
    group_labels: list[str]
    group_window_minutes: int
    storm_threshold: int = Field(description="new incidents a minute before the storm incident")
    ingest_rate_limit: int | None = Field(description="events a minute per key; null: no limit")
    ack_timeout_minutes: int | None = Field(
        description="an acknowledged incident returns to new after this long; null: never"
    )


class ServiceOut(AlertSettings):
    id: int
    name: str
    description: str
    team: Ref | None
    active: bool
    chat_url_template: str = Field(
        description="war-room chat link for new incidents; {number}, {ref}, {service}"
    )
    video_url_template: str = Field(description="war-room video link, as chat_url_template")


UrlTemplate = Annotated[Text, Field(max_length=500)]


class AlertSettingsIn(InSchema):
    severity_map: SeverityMap | None = None
    auto_resolve: StrictBool | None = None
    grouping: Literal["key", "labels"] | None = None
    group_labels: Annotated[list[LabelName], Field(max_length=20)] | None = None
    group_window_minutes: Annotated[StrictInt, Field(ge=1, le=services.GROUP_WINDOW_MAX)] | None = (
        None
    )
    storm_threshold: Annotated[StrictInt, Field(ge=1, le=services.STORM_THRESHOLD_MAX)] | None = (
        None
    )
    ingest_rate_limit: Annotated[StrictInt, Field(ge=1, le=services.RATE_LIMIT_MAX)] | None = Field(
        None, description="null: no limit"
    )
    ack_timeout_minutes: Annotated[StrictInt, Field(ge=1, le=services.ACK_TIMEOUT_MAX)] | None = (
        Field(None, description="null: acknowledgements never time out")
    )


class ServiceIn(AlertSettingsIn):
    name: Name
    description: Annotated[Text, Field(max_length=10_000)] = ""
    team: BodyId | None = None
    chat_url_template: UrlTemplate = ""
    video_url_template: UrlTemplate = ""


class ServicePatchIn(AlertSettingsIn):
    name: Name | None = None
    description: Annotated[Text, Field(max_length=10_000)] | None = None
    team: BodyId | None = Field(None, description="null removes the team")
    active: bool | None = None
    chat_url_template: UrlTemplate | None = Field(
        None, description='e.g. "https://chat.example.com/incident-{number}"; "" removes it'
    )
    video_url_template: UrlTemplate | None = None


# Fields that apps above the catalog add (catalog.hooks.add_service_field, registered in
# their ready(), before this module is imported): escalation's `escalation_policy`.
_EXTRA = {f.name: f for f in hooks.service_fields()}
if TYPE_CHECKING:
    ServicePatchBody = ServicePatchIn
    ServiceBody = ServiceOut
else:
    ServicePatchBody = create_model(
        "ServicePatchIn",
        __base__=ServicePatchIn,
        **{name: (f.schema_in, None) for name, f in _EXTRA.items()},
    )
    ServiceBody = create_model(
        "ServiceOut",
        __base__=ServiceOut,
        **{name: (f.schema_out, None) for name, f in _EXTRA.items()},
    )


class ServiceList(Schema):
    items: list[ServiceBody]
    count: int


def _extra_json(request: HttpRequest, rows: Sequence[Service]) -> dict[int, dict[str, Any]]:
    """The added fields of each service, as this person may see them."""
    user = user_from_request(request)
    out: dict[int, dict[str, Any]] = {s.pk: {} for s in rows}
    for name, extra in _EXTRA.items():
        values = extra.read(user, rows)
        for s in rows:
            out[s.pk][name] = values.get(s.pk)
    return out


def _with_extra(request: HttpRequest, service: Service) -> dict[str, Any]:
    return service_json(service) | _extra_json(request, [service])[service.pk]


def service_json(service: Service) -> dict[str, Any]:
    return {
        "id": service.pk,
        "name": service.name,
        "description": service.description,
        "team": ref(service.team),
        "active": service.is_active,
        "severity_map": service.severity_map,
        "auto_resolve": service.auto_resolve,
        "grouping": service.grouping,
        "group_labels": service.group_labels,
        "group_window_minutes": service.group_window_minutes,
        "storm_threshold": service.storm_threshold,
        "ingest_rate_limit": service.ingest_rate_limit,
        "ack_timeout_minutes": service.ack_timeout_minutes,
        "chat_url_template": service.chat_url_template,
        "video_url_template": service.video_url_template,
    }


def _alert_changes(sent: dict[str, Any]) -> dict[str, Any]:
    """The alert settings among the fields sent; null means "leave as is" except for the
    rate limit, where null means "no limit"."""
    changes = {}
    for name in services.ALERT_SETTINGS:
        nullable = name in ("ingest_rate_limit", "ack_timeout_minutes")
        if name in sent and (sent[name] is not None or nullable):
            changes[name] = sent[name]
    return changes


@router.get("/services", response={200: ServiceList, **ERRORS})
def list_services(request: HttpRequest, paging: Query[Paging]) -> dict[str, Any]:
    """Everyone signed in may read services (a reporter names the affected one)."""
    qs = selectors.service_list()
    window = list(qs[paging.offset : paging.offset + paging.limit])
    extra = _extra_json(request, window)
    return {"items": [service_json(s) | extra[s.pk] for s in window], "count": qs.count()}


@router.post("/services", response={201: ServiceBody, **ERRORS})
def create_service(request: HttpRequest, payload: ServiceIn) -> HttpResponse:
    require(user_from_request(request), Action.SERVICE_EDIT, what="manage services")
    changes = _alert_changes(payload.model_dump(exclude_unset=True))

    def create() -> dict[str, Any]:
        with transaction.atomic():
            service = services.service_create(
                name=payload.name,
                description=payload.description,
                team=lookup("team", team_get, payload.team),
                actor=actor_from_request(request),
            )
            if changes:
                services.service_update_alert_settings(
                    service=service, changes=changes, actor=actor_from_request(request)
                )
            if payload.chat_url_template or payload.video_url_template:
                service = services.service_update_war_room(
                    service=service,
                    chat_url_template=payload.chat_url_template,
                    video_url_template=payload.video_url_template,
                    actor=actor_from_request(request),
                )
        return _with_extra(request, service)

    return idempotent_create(request, create)


@router.get("/services/{service_id}", response={200: ServiceBody, **ERRORS})
def get_service(request: HttpRequest, service_id: Id) -> dict[str, Any]:
    return _with_extra(request, selectors.service_get(service_id))


@router.patch("/services/{service_id}", response={200: ServiceBody, **ERRORS})
def patch_service(
    request: HttpRequest, service_id: Id, payload: ServicePatchBody
) -> dict[str, Any]:
    """Administrators change everything; managers may change the alert settings and the
    fields other apps add (escalation_policy: managers and administrators)."""
    sent = payload.model_dump(exclude_unset=True)
    extra = {name: sent.pop(name) for name in list(sent) if name in _EXTRA}
    war_room = {name: sent.pop(name) for name in list(sent) if name in WAR_ROOM_FIELDS}
    for name, value in war_room.items():
        if value is None:
            raise Invalid(name, 'must not be null (send "" to remove it)')
    changes = _alert_changes(sent)
    basics = set(sent) - set(services.ALERT_SETTINGS)
    if basics or not (sent or extra or war_room):
        require(user_from_request(request), Action.SERVICE_EDIT, what="manage services")
    else:
        require(user_from_request(request), Action.INTEGRATION_MANAGE)
    service = selectors.service_get(service_id)
    with transaction.atomic():
        if basics:
            service = services.service_update(
                service=service,
                name=sent.get("name"),
                description=sent.get("description"),
                team=lookup("team", team_get, sent.get("team")),
                clear_team="team" in sent and sent["team"] is None,
                is_active=sent.get("active"),
                actor=actor_from_request(request),
            )
        if changes:
            service = services.service_update_alert_settings(
                service=service, changes=changes, actor=actor_from_request(request)
            )
        if war_room:
            service = services.service_update_war_room(
                service=service, actor=actor_from_request(request), **war_room
            )
        for name, value in extra.items():
            _EXTRA[name].apply(service, value, actor_from_request(request))
    return _with_extra(request, service)


# --- integrations ----------------------------------------------------------------------------

Path = Annotated[Text, Field(max_length=services.PATH_MAX)]
Secret = Annotated[Text, Field(max_length=services.SECRET_MAX)]


class IntegrationOptionsIn(InSchema):
    """Options of each kind (others are refused, naming the field).

    webhook: summary_path, severity_path, dedup_key_path, status_path, source_path
    (dot-separated keys such as "alert.title" or "$.alert.title"; list indexes as
    "alerts[0]"; "" leaves a field unmapped), resolved_value and acknowledged_value;
    webhook and alertmanager: bearer_token; grafana: hmac_secret, hmac_header (blank:
    X-Grafana-Alerting-Signature or X-Grafana-Alert-Signature) and timestamp_header;
    heartbeat: interval_seconds and grace_seconds; email: staff_mail_public."""

    summary_path: Path | None = None
    severity_path: Path | None = None
    dedup_key_path: Path | None = None
    status_path: Path | None = None
    source_path: Path | None = None
    resolved_value: Annotated[Text, Field(min_length=1, max_length=100)] | None = None
    acknowledged_value: Annotated[Text, Field(max_length=100)] | None = None
    bearer_token: Secret | None = None
    hmac_secret: Secret | None = None
    hmac_header: Annotated[Text, Field(max_length=64)] | None = None
    timestamp_header: Annotated[Text, Field(max_length=64)] | None = None
    interval_seconds: StrictInt | None = Field(
        None, description="heartbeat: expected seconds between pings (30 … 31 days)"
    )
    grace_seconds: StrictInt | None = Field(
        None, description="heartbeat: extra seconds before a missed ping opens an incident"
    )
    staff_mail_public: StrictBool | None = Field(
        None,
        description="email: a reply from a staff address becomes a public note "
        "(default false: an internal note, since a From header can be forged)",
    )


class IntegrationIn(IntegrationOptionsIn):
    kind: Literal[
        "pagerduty", "opsgenie", "alertmanager", "grafana", "webhook", "email", "heartbeat"
    ]
    name: Annotated[Text, Field(max_length=100)] = ""


class IntegrationPatchIn(IntegrationOptionsIn):
    name: Annotated[Text, Field(max_length=100)] | None = None


class HeartbeatOut(Schema):
    state: str
    interval_seconds: int
    grace_seconds: int
    last_ping_at: dt.datetime | None
    due_at: dt.datetime | None


class SnippetOut(Schema):
    title: str
    language: str
    text: str
    note: str


class IntegrationOut(Schema):
    id: int
    service: Ref
    kind: Annotated[str, one_of(IntegrationKind.values)]
    name: str
    key_prefix: str
    endpoint: str = Field(description="where senders post, with <key> in place of the key")
    options: dict[str, Any]
    secret_set: bool
    active: bool
    created_at: dt.datetime
    rotated_at: dt.datetime | None
    revoked_at: dt.datetime | None
    heartbeat: HeartbeatOut | None
    test_received_at: dt.datetime | None = Field(
        None, description="when the sender's test notification (Grafana's Test) last arrived"
    )


class IntegrationKeyOut(IntegrationOut):
    key: str | None = Field(description="shown once; null when an Idempotency-Key replays")
    url: str | None = Field(description="the endpoint with the key (email: the address)")
    snippet: str | None = Field(description="the first of the snippets")
    snippets: list[SnippetOut]


class IntegrationList(Schema):
    items: list[IntegrationOut]
    count: int


def integration_json(integration: Integration) -> dict[str, Any]:
    heartbeat = None
    if integration.kind == IntegrationKind.HEARTBEAT:
        row = getattr(integration, "heartbeat", None)
        if row is not None:
            heartbeat = {
                "state": row.state,
                "interval_seconds": row.interval_seconds,
                "grace_seconds": row.grace_seconds,
                "last_ping_at": row.last_ping_at,
                "due_at": row.due_at,
            }
    return {
        "id": integration.pk,
        "service": ref(integration.service),
        "kind": integration.kind,
        "name": integration.name,
        "key_prefix": integration.key_prefix,
        "endpoint": snippets.integration_url(integration.kind),
        "options": integration.options,
        "secret_set": bool(integration.secret_encrypted),
        "active": integration.is_active,
        "created_at": integration.created_at,
        "rotated_at": integration.rotated_at,
        "revoked_at": integration.revoked_at,
        "heartbeat": heartbeat,
        "test_received_at": (integration.options or {}).get(services.TEST_RECEIVED),
    }


def _with_key(integration: Integration, key: str | None) -> dict[str, Any]:
    body = integration_json(integration)
    found = snippets.integration_snippets(integration, key) if key else []
    body.update(
        key=key,
        url=snippets.integration_url(integration.kind, key) if key else None,
        snippet=found[0].text if found else None,
        snippets=[s.to_json() for s in found],
    )
    return body


def _reply_with_key(request: HttpRequest, make: Any, status: int = 201) -> HttpResponse:
    """Create with the key shown once: an Idempotency-Key replay answers the same
    integration without its key (the stored reply never holds the key)."""
    shown: dict[str, Any] = {}

    def create() -> dict[str, Any]:
        integration, key = make()
        shown["body"] = _with_key(integration, key)
        return _with_key(integration, None)

    response = idempotent_create(request, create, status)
    if "body" in shown:
        response = json_response(to_json(shown["body"]), status)
    response["Cache-Control"] = "no-store"
    return response


def _options(payload: IntegrationOptionsIn) -> dict[str, Any]:
    return {
        name: value
        for name, value in payload.model_dump(exclude_unset=True).items()
        if name in services.ALL_OPTIONS
    }


def _manageable(request: HttpRequest, service_id: int, integration_id: int) -> Integration:
    require(user_from_request(request), Action.INTEGRATION_MANAGE)
    return selectors.integration_get(selectors.service_get(service_id), integration_id)


@router.get("/services/{service_id}/integrations", response={200: IntegrationList, **ERRORS})
def list_integrations(
    request: HttpRequest, service_id: Id, paging: Query[Paging]
) -> dict[str, Any]:
    """Staff see a service's integrations (never their keys, only the first characters)."""
    require(user_from_request(request), Action.ALERTS_VIEW)
    service = selectors.service_get(service_id)
    return page(selectors.integrations_for(service), paging, integration_json)


@router.post("/services/{service_id}/integrations", response={201: IntegrationKeyOut, **ERRORS})
def create_integration(
    request: HttpRequest, service_id: Id, payload: IntegrationIn
) -> HttpResponse:
    """Administrators and managers add an integration; the reply shows its key once, with
    the URL to send to and ready-to-paste configuration for the sending tool."""
    require(user_from_request(request), Action.INTEGRATION_MANAGE)
    service = selectors.service_get(service_id)
    return _reply_with_key(
        request,
        lambda: services.integration_setup(
            service=service,
            kind=payload.kind,
            name=payload.name,
            options=_options(payload),
            actor=actor_from_request(request),
        ),
    )


@router.get(
    "/services/{service_id}/integrations/{integration_id}",
    response={200: IntegrationOut, **ERRORS},
)
def get_integration(request: HttpRequest, service_id: Id, integration_id: Id) -> dict[str, Any]:
    require(user_from_request(request), Action.ALERTS_VIEW)
    service = selectors.service_get(service_id)
    return integration_json(selectors.integration_get(service, integration_id))


@router.patch(
    "/services/{service_id}/integrations/{integration_id}",
    response={200: IntegrationOut, **ERRORS},
)
def patch_integration(
    request: HttpRequest, service_id: Id, integration_id: Id, payload: IntegrationPatchIn
) -> dict[str, Any]:
    """Rename, or change options; a secret sent as "" or null is removed."""
    integration = _manageable(request, service_id, integration_id)
    sent = payload.model_dump(exclude_unset=True)
    integration = services.integration_update(
        integration=integration,
        name=sent.get("name"),
        options=_options(payload),
        actor=actor_from_request(request),
    )
    return integration_json(integration)


@router.post(
    "/services/{service_id}/integrations/{integration_id}/rotate",
    response={200: IntegrationKeyOut, **ERRORS},
)
def rotate_integration(request: HttpRequest, service_id: Id, integration_id: Id) -> HttpResponse:
    """A new key replaces the old one at once (the old key stops working); shown once."""
    integration = _manageable(request, service_id, integration_id)
    integration, key = services.integration_rotate(
        integration=integration, actor=actor_from_request(request)
    )
    response = json_response(to_json(_with_key(integration, key)), 200)
    response["Cache-Control"] = "no-store"
    return response


@router.post(
    "/services/{service_id}/integrations/{integration_id}/revoke",
    response={200: IntegrationOut, **ERRORS},
)
def revoke_integration(request: HttpRequest, service_id: Id, integration_id: Id) -> dict[str, Any]:
    """The key stops working for good; the integration and its alerts remain."""
    integration = _manageable(request, service_id, integration_id)
    return integration_json(
        services.integration_revoke(integration=integration, actor=actor_from_request(request))
    )


# --- categories ----------------------------------------------------------------------------


class SubcategoryOut(Schema):
    id: int
    name: str


class CategoryOut(Schema):
    id: int
    name: str
    children: list[SubcategoryOut]


class CategoryTree(Schema):
    items: list[CategoryOut] = Field(description="Top-level categories with their subcategories")
    count: int


class CategoryIn(InSchema):
    name: Name
    parent: BodyId | None = Field(None, description="id of the category, for a subcategory")


@router.get("/categories", response={200: CategoryTree, **ERRORS})
def list_categories(request: HttpRequest) -> dict[str, Any]:
    """The two-level taxonomy (active entries), for everyone signed in."""
    tree = [
        {"id": top.pk, "name": top.name, "children": [ref(child) for child in children]}
        for top, children in selectors.category_tree()
    ]
    return {"items": tree, "count": len(tree)}


@router.post("/categories", response={201: SubcategoryOut, **ERRORS})
def create_category(request: HttpRequest, payload: CategoryIn) -> HttpResponse:
    require(user_from_request(request), Action.CONFIG_MANAGE, what="manage the taxonomy")
    return idempotent_create(
        request,
        lambda: ref(
            services.category_create(
                name=payload.name,
                parent=lookup("parent", selectors.category_get, payload.parent),
                actor=actor_from_request(request),
            )
        ),
    )
