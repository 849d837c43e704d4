"""REST API for services and the category taxonomy."""

from __future__ import annotations

from typing import Annotated, Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema
from pydantic import Field

from tocsin.accounts.selectors import team_get
from tocsin.catalog import selectors, services
from tocsin.catalog.models import Service
from tocsin.core.api import (
    ERRORS,
    BodyId,
    Id,
    InSchema,
    Paging,
    Ref,
    Text,
    idempotent_create,
    lookup,
    page,
    ref,
    user_from_request,
)
from tocsin.core.errors import Forbidden
from tocsin.incidents import permissions as perms

router = Router(tags=["catalog"])

Name = Annotated[Text, Field(min_length=1, max_length=100)]


def _require_admin(request: HttpRequest, what: str) -> None:
    if not perms.can_administer(user_from_request(request)):
        raise Forbidden(f"your role may not {what}")


# --- services ----------------------------------------------------------------------------


class ServiceOut(Schema):
    id: int
    name: str
    description: str
    team: Ref | None
    active: bool


class ServiceList(Schema):
    items: list[ServiceOut]
    count: int


class ServiceIn(InSchema):
    name: Name
    description: Annotated[Text, Field(max_length=10_000)] = ""
    team: BodyId | None = None


class ServicePatchIn(InSchema):
    name: Name | None = None
    description: Annotated[Text, Field(max_length=10_000)] | None = None
    team: BodyId | None = Field(None, description="null removes the team")
    active: bool | None = None


def service_json(service: Service) -> dict[str, Any]:
    return {
        "id": service.pk,
        "name": service.name,
        "description": service.description,
        "team": ref(service.team),
        "active": service.is_active,
    }


@router.get("/services", response={200: ServiceList, **ERRORS})
def list_services(request: HttpRequest, paging: Query[Paging]) -> dict[str, Any]:
    """Everyone signed in may read services (a reporter names the affected one)."""
    return page(selectors.service_list(), paging, service_json)


@router.post("/services", response={201: ServiceOut, **ERRORS})
def create_service(request: HttpRequest, payload: ServiceIn) -> HttpResponse:
    _require_admin(request, "manage services")
    return idempotent_create(
        request,
        lambda: service_json(
            services.service_create(
                name=payload.name,
                description=payload.description,
                team=lookup("team", team_get, payload.team),
            )
        ),
    )


@router.get("/services/{service_id}", response={200: ServiceOut, **ERRORS})
def get_service(request: HttpRequest, service_id: Id) -> dict[str, Any]:
    return service_json(selectors.service_get(service_id))


@router.patch("/services/{service_id}", response={200: ServiceOut, **ERRORS})
def patch_service(request: HttpRequest, service_id: Id, payload: ServicePatchIn) -> dict[str, Any]:
    _require_admin(request, "manage services")
    service = selectors.service_get(service_id)
    sent = payload.model_dump(exclude_unset=True)
    service = services.service_update(
        service=service,
        name=sent.get("name"),
        description=sent.get("description"),
        team=lookup("team", team_get, sent.get("team")),
        clear_team="team" in sent and sent["team"] is None,
        is_active=sent.get("active"),
    )
    return service_json(service)


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
    _require_admin(request, "manage the taxonomy")
    return idempotent_create(
        request,
        lambda: ref(
            services.category_create(
                name=payload.name, parent=lookup("parent", selectors.category_get, payload.parent)
            )
        ),
    )
