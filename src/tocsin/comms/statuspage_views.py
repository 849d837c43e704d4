"""The status-page administration under /status-admin/ (routes in statuspage_urls.py):
the overview (components with their statuses, public incidents, maintenances), the
component and group editors, public incidents (draft, publish, updates, links),
maintenances (standalone or from a maintenance window), the branding.

Thin: forms read, `statuspage` checks and writes (the API's own functions), selectors
read and gate. Whoever is not staff gets 404 on every page here (anonymous visitors are
sent to sign in first).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.functional import SimpleLazyObject
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tocsin.accounts.permissions import Action, can
from tocsin.comms import statuspage
from tocsin.comms import statuspage_selectors as selectors
from tocsin.comms.models import (
    ComponentRule,
    ComponentStatus,
    PublicIncident,
    PublicIncidentStatus,
)
from tocsin.comms.services import status_page
from tocsin.comms.statuspage_forms import (
    BrandingForm,
    ComponentForm,
    ComponentStatusForm,
    GroupForm,
    LinkForm,
    MaintenanceForm,
    MaintenanceUpdateForm,
    PublicIncidentForm,
    PublicUpdateForm,
)
from tocsin.core.actors import Actor
from tocsin.core.errors import Conflict, Invalid, NotFound, TocsinError
from tocsin.core.web import apply_error, error_page
from tocsin.incidents.hooks import PageSection
from tocsin.incidents.models import Incident
from tocsin.incidents.selectors import access_incident

View = Callable[..., HttpResponse]


def status_staff(view: View) -> View:
    """Signed in and staff; anyone else gets 404 (the page's existence does not leak)."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not selectors.may_view(request.user):
            return error_page(request, NotFound("no such page"))
        try:
            return view(request, *args, **kwargs)
        except TocsinError as exc:
            return error_page(request, exc)

    return wrapper


def _may(request: HttpRequest, action: str) -> bool:
    return can(request.user, action)


def _gate(request: HttpRequest, action: str) -> None:
    """Pages for a write this person may not make answer 404, like a missing page."""
    if not _may(request, action):
        raise NotFound("no such page")


def _try(form: forms.Form, write: Callable[[], Any]) -> tuple[bool, Any, int]:
    """Run a write; an Invalid lands on the form (422), a Conflict on top of it (409)."""
    try:
        return True, write(), 200
    except Invalid as exc:
        apply_error(form, exc)
        return False, None, 422
    except Conflict as exc:
        form.add_error(None, exc.message)
        return False, None, 409


def _actor(request: HttpRequest) -> Actor:
    return Actor.for_request(request)


# --- overview ----------------------------------------------------------------------------


@status_staff
@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    user = request.user
    components = list(selectors.component_list(user=user))
    groups = list(selectors.group_list(user=user))
    sections: list[dict[str, Any]] = [
        {"group": g, "components": [c for c in components if c.group_id == g.pk]} for g in groups
    ]
    ungrouped = [c for c in components if c.group_id is None]
    if ungrouped:
        sections.append({"group": None, "components": ungrouped})
    incidents = list(selectors.public_incident_list(user=user)[:30])
    return render(
        request,
        "comms/spstaff_overview.html",
        {
            "current": "status-admin",
            "page": status_page(),
            "sections": sections,
            "groups": groups,
            "drafts": [i for i in incidents if i.published_at is None],
            "open_incidents": [
                i
                for i in incidents
                if i.published_at is not None and i.status != PublicIncidentStatus.RESOLVED
            ],
            "resolved": [i for i in incidents if i.status == PublicIncidentStatus.RESOLVED][:10],
            "maintenances": list(selectors.maintenance_list(user=user)[:20]),
            "windows": list(selectors.windows_not_public(user=user)[:20]),
            "statuses": ComponentStatus.choices,
            "can_publish": _may(request, Action.STATUS_PUBLISH),
            "can_manage": _may(request, Action.STATUS_MANAGE),
            "can_configure": _may(request, Action.STATUS_CONFIGURE),
        },
    )


# --- components and groups ----------------------------------------------------------------


def _component_page(
    request: HttpRequest, form: ComponentForm, component: Any, status: int = 200
) -> HttpResponse:
    context: dict[str, Any] = {"current": "status-admin", "form": form, "component": component}
    if component is not None:
        context["history"] = selectors.component_history(component)
        context["open_incidents"] = list(selectors.component_open_incidents(component)[:20])
        context["status_form"] = ComponentStatusForm(initial={"status": component.status})
        context["derived"] = component.rule == ComponentRule.DERIVED
        context["can_publish"] = _may(request, Action.STATUS_PUBLISH)
    return render(request, "comms/spstaff_component.html", context, status=status)


@status_staff
@require_http_methods(["GET", "POST"])
def component_new(request: HttpRequest) -> HttpResponse:
    _gate(request, Action.STATUS_MANAGE)
    if request.method != "POST":
        return _component_page(
            request, ComponentForm(initial=ComponentForm.initial_for(None)), None
        )
    form = ComponentForm(request.POST)
    if form.is_valid():
        changes = form.changes()
        ok, component, code = _try(
            form,
            lambda: statuspage.component_create(
                actor=_actor(request), status=ComponentStatus.OPERATIONAL, **changes
            ),
        )
        if ok:
            messages.success(request, f"Component “{component.name}” added.")
            return redirect("status-admin")
        return _component_page(request, form, None, code)
    return _component_page(request, form, None, 422)


@status_staff
@require_http_methods(["GET", "POST"])
def component_edit(request: HttpRequest, component_id: int) -> HttpResponse:
    component = selectors.component_get(component_id, user=request.user)
    if request.method != "POST":
        form = ComponentForm(initial=ComponentForm.initial_for(component))
        if not _may(request, Action.STATUS_MANAGE) or component.archived_at is not None:
            for field in form.fields.values():
                field.disabled = True
        return _component_page(request, form, component)
    _gate(request, Action.STATUS_MANAGE)
    form = ComponentForm(request.POST)
    if form.is_valid():
        changes = form.changes()
        ok, _, code = _try(
            form,
            lambda: statuspage.component_update(
                actor=_actor(request), component=component, changes=changes
            ),
        )
        if ok:
            messages.success(request, f"Component “{component.name}” saved.")
            return redirect("status-admin")
        return _component_page(request, form, component, code)
    return _component_page(request, form, component, 422)


@status_staff
@require_POST
def component_status(request: HttpRequest, component_id: int) -> HttpResponse:
    component = selectors.component_get(component_id, user=request.user)
    form = ComponentStatusForm(request.POST)
    if not form.is_valid():
        field, errors = next(iter(form.errors.items()))
        return error_page(request, Invalid(field, str(errors[0])))
    statuspage.component_set_status(
        actor=_actor(request),
        component=component,
        status=form.cleaned_data["status"],
        reason=form.cleaned_data["reason"],
    )
    messages.success(
        request, f"{component.name}: {ComponentStatus(component.status).label.lower()}."
    )
    if request.POST.get("next") == "component":
        return redirect("status-component", component_id=component.pk)
    return redirect("status-admin")


@status_staff
@require_POST
def component_move(request: HttpRequest, component_id: int) -> HttpResponse:
    component = selectors.component_get(component_id, user=request.user)
    statuspage.component_move(
        actor=_actor(request),
        component=component,
        offset=-1 if request.POST.get("direction") == "up" else 1,
    )
    return redirect("status-admin")


@status_staff
@require_POST
def component_archive(request: HttpRequest, component_id: int) -> HttpResponse:
    component = selectors.component_get(component_id, user=request.user)
    statuspage.component_archive(actor=_actor(request), component=component)
    messages.success(request, f"Component “{component.name}” archived.")
    return redirect("status-admin")


@status_staff
@require_http_methods(["GET", "POST"])
def group_form(request: HttpRequest, group_id: int | None = None) -> HttpResponse:
    group = selectors.group_get(group_id, user=request.user) if group_id else None
    _gate(request, Action.STATUS_MANAGE)
    if request.method != "POST":
        initial = {"name": group.name, "description": group.description} if group else {}
        form = GroupForm(initial=initial)
        return render(
            request,
            "comms/spstaff_group.html",
            {"current": "status-admin", "form": form, "group": group},
        )
    form = GroupForm(request.POST)
    code = 422
    if form.is_valid():
        data = form.cleaned_data
        ok, _, code = _try(
            form,
            lambda: (
                statuspage.group_update(actor=_actor(request), group=group, changes=data)
                if group
                else statuspage.group_create(actor=_actor(request), **data)
            ),
        )
        if ok:
            messages.success(request, f"Component group “{data['name']}” saved.")
            return redirect("status-admin")
    return render(
        request,
        "comms/spstaff_group.html",
        {"current": "status-admin", "form": form, "group": group},
        status=code,
    )


@status_staff
@require_POST
def group_move(request: HttpRequest, group_id: int) -> HttpResponse:
    group = selectors.group_get(group_id, user=request.user)
    statuspage.group_move(
        actor=_actor(request),
        group=group,
        offset=-1 if request.POST.get("direction") == "up" else 1,
    )
    return redirect("status-admin")


@status_staff
@require_POST
def group_archive(request: HttpRequest, group_id: int) -> HttpResponse:
    group = selectors.group_get(group_id, user=request.user)
    statuspage.group_archive(actor=_actor(request), group=group)
    messages.success(request, f"Component group “{group.name}” archived; its components stay.")
    return redirect("status-admin")


# --- public incidents ---------------------------------------------------------------------


def _incident_form_page(
    request: HttpRequest, form: PublicIncidentForm, source: Incident | None, status: int = 200
) -> HttpResponse:
    return render(
        request,
        "comms/spstaff_incident_new.html",
        {"current": "status-admin", "form": form, "source": source},
        status=status,
    )


@status_staff
@require_http_methods(["GET", "POST"])
def incident_new(request: HttpRequest) -> HttpResponse:
    _gate(request, Action.STATUS_PUBLISH)
    source: Incident | None = None
    ref = request.GET.get("incident") or request.POST.get("source") or ""
    if ref:
        try:
            source = access_incident(request.user, ref)  # type: ignore[arg-type]
        except NotFound:
            source = None
    if request.method != "POST":
        prefill = {}
        initial: dict[str, Any] = {}
        if source is not None:
            status = {1: "major_outage", 2: "partial_outage"}.get(
                source.priority, "degraded_performance"
            )
            prefill = {
                c.pk: status
                for c in selectors.components_for_incident(source)
                if c.rule == ComponentRule.MANUAL
            }
            initial["incidents"] = source.ref
            initial["impact"] = {1: "critical", 2: "major"}.get(source.priority, "minor")
        return _incident_form_page(
            request, PublicIncidentForm(initial=initial, components=prefill), source
        )
    form = PublicIncidentForm(request.POST)
    code = 422
    if form.is_valid():
        data = form.cleaned_data
        publish = request.POST.get("action") == "publish"

        def write() -> PublicIncident:
            linked = []
            for r in form.incident_refs():
                try:
                    linked.append(access_incident(request.user, r))  # type: ignore[arg-type]
                except NotFound:
                    raise Invalid("incidents", f"no incident {r}") from None
            return statuspage.public_incident_create(
                actor=_actor(request),
                title=data["title"],
                body=data["body"],
                impact=data["impact"],
                status=data["status"],
                components=form.component_statuses(),
                incidents=linked,
                publish=publish,
            )

        ok, pi, code = _try(form, write)
        if ok:
            messages.success(
                request,
                "Published on the status page."
                if publish
                else "Saved as a draft: the public sees nothing until you publish it.",
            )
            return redirect("status-incident", pi_id=pi.pk)
    return _incident_form_page(request, form, source, code)


def _incident_page(
    request: HttpRequest,
    pi: PublicIncident,
    *,
    update_form: PublicUpdateForm | None = None,
    link_form: LinkForm | None = None,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "comms/spstaff_incident.html",
        {
            "current": "status-admin",
            "pi": pi,
            "updates": list(pi.updates.select_related("created_by").order_by("-created_at", "-pk")),
            "linked": list(pi.incidents.all()),
            "update_form": update_form or PublicUpdateForm(initial={"status": pi.status}),
            "link_form": link_form or LinkForm(),
            "can_publish": _may(request, Action.STATUS_PUBLISH),
            "is_draft": pi.published_at is None,
            "is_resolved": pi.status == PublicIncidentStatus.RESOLVED,
        },
        status=status,
    )


@status_staff
@require_GET
def incident_detail(request: HttpRequest, pi_id: int) -> HttpResponse:
    return _incident_page(request, selectors.public_incident_get(pi_id, user=request.user))


@status_staff
@require_POST
def incident_publish(request: HttpRequest, pi_id: int) -> HttpResponse:
    pi = selectors.public_incident_get(pi_id, user=request.user)
    statuspage.public_incident_publish(actor=_actor(request), public_incident=pi)
    messages.success(request, "Published on the status page.")
    return redirect("status-incident", pi_id=pi.pk)


@status_staff
@require_POST
def incident_delete(request: HttpRequest, pi_id: int) -> HttpResponse:
    pi = selectors.public_incident_get(pi_id, user=request.user)
    statuspage.public_incident_delete_draft(actor=_actor(request), public_incident=pi)
    messages.success(request, "Draft deleted.")
    return redirect("status-admin")


@status_staff
@require_POST
def incident_update(request: HttpRequest, pi_id: int) -> HttpResponse:
    pi = selectors.public_incident_get(pi_id, user=request.user)
    form = PublicUpdateForm(request.POST)
    code = 422
    if form.is_valid():
        data = form.cleaned_data
        statuses = form.component_statuses()
        ok, _, code = _try(
            form,
            lambda: statuspage.public_incident_post_update(
                actor=_actor(request),
                public_incident=pi,
                status=data["status"],
                body=data["body"],
                # resolving with nothing chosen returns the components to operational
                components=statuses
                if statuses or data["status"] != PublicIncidentStatus.RESOLVED
                else None,
            ),
        )
        if ok:
            messages.success(request, "Update posted on the status page.")
            return redirect("status-incident", pi_id=pi.pk)
    return _incident_page(request, pi, update_form=form, status=code)


@status_staff
@require_POST
def incident_link(request: HttpRequest, pi_id: int) -> HttpResponse:
    pi = selectors.public_incident_get(pi_id, user=request.user)
    form = LinkForm(request.POST)
    code = 422
    if form.is_valid():

        def write() -> Any:
            try:
                incident = access_incident(request.user, form.cleaned_data["incident"])  # type: ignore[arg-type]
            except NotFound as exc:
                raise Invalid("incident", exc.message) from None
            return statuspage.public_incident_link(
                actor=_actor(request), public_incident=pi, incident=incident
            )

        ok, _, code = _try(form, write)
        if ok:
            messages.success(request, "Internal incident linked (staff only).")
            return redirect("status-incident", pi_id=pi.pk)
    return _incident_page(request, pi, link_form=form, status=code)


@status_staff
@require_POST
def incident_unlink(request: HttpRequest, pi_id: int) -> HttpResponse:
    pi = selectors.public_incident_get(pi_id, user=request.user)
    incident = access_incident(request.user, request.POST.get("incident", ""))  # type: ignore[arg-type]
    statuspage.public_incident_unlink(actor=_actor(request), public_incident=pi, incident=incident)
    messages.success(request, f"{incident.ref} unlinked.")
    return redirect("status-incident", pi_id=pi.pk)


# --- maintenances -------------------------------------------------------------------------


@status_staff
@require_http_methods(["GET", "POST"])
def maintenance_new(request: HttpRequest) -> HttpResponse:
    _gate(request, Action.STATUS_PUBLISH)
    window_id = request.GET.get("window") or request.POST.get("window")
    window = None
    if window_id:
        if not window_id.isdigit() or len(window_id) > 12:
            raise NotFound(f"no maintenance window {window_id!r}")
        window = selectors.window_get(int(window_id), user=request.user)
    context = {"current": "status-admin", "window": window}
    if request.method != "POST":
        initial: dict[str, Any] = {"publish": True}
        if window is not None:
            initial["components"] = [c.pk for c in selectors.components_for_window(window)]
        form = MaintenanceForm(initial=initial, window=window)
        return render(request, "comms/spstaff_maintenance_new.html", {**context, "form": form})
    form = MaintenanceForm(request.POST, window=window)
    code = 422
    if form.is_valid():
        data = form.cleaned_data
        if window is None and not data.get("scheduled_for"):
            form.add_error("scheduled_for", "Starts is required.")
        elif window is None and not data.get("scheduled_until"):
            form.add_error("scheduled_until", "Ends is required.")
        else:
            ok, m, code = _try(
                form,
                lambda: statuspage.maintenance_create(
                    actor=_actor(request),
                    title=data["title"],
                    body=data["body"],
                    components=list(data["components"]),
                    scheduled_for=data.get("scheduled_for"),
                    scheduled_until=data.get("scheduled_until"),
                    window=window,
                    publish=data["publish"],
                ),
            )
            if ok:
                messages.success(
                    request, "Maintenance published." if m.published_at else "Maintenance saved."
                )
                return redirect("status-maintenance", m_id=m.pk)
    return render(
        request, "comms/spstaff_maintenance_new.html", {**context, "form": form}, status=code
    )


def _maintenance_page(
    request: HttpRequest, m: Any, form: MaintenanceUpdateForm | None = None, status: int = 200
) -> HttpResponse:
    return render(
        request,
        "comms/spstaff_maintenance.html",
        {
            "current": "status-admin",
            "m": m,
            "updates": list(m.updates.select_related("created_by").order_by("-created_at", "-pk")),
            "form": form or MaintenanceUpdateForm(),
            "can_publish": _may(request, Action.STATUS_PUBLISH),
        },
        status=status,
    )


@status_staff
@require_GET
def maintenance_detail(request: HttpRequest, m_id: int) -> HttpResponse:
    return _maintenance_page(request, selectors.maintenance_get(m_id, user=request.user))


@status_staff
@require_POST
def maintenance_update(request: HttpRequest, m_id: int) -> HttpResponse:
    m = selectors.maintenance_get(m_id, user=request.user)
    form = MaintenanceUpdateForm(request.POST)
    code = 422
    if form.is_valid():
        data = form.cleaned_data
        ok, _, code = _try(
            form,
            lambda: statuspage.maintenance_post_update(
                actor=_actor(request),
                maintenance=m,
                body=data["body"],
                status=data["status"] or None,
            ),
        )
        if ok:
            messages.success(request, "Update posted on the status page.")
            return redirect("status-maintenance", m_id=m.pk)
    return _maintenance_page(request, m, form, code)


@status_staff
@require_POST
def maintenance_publish(request: HttpRequest, m_id: int) -> HttpResponse:
    m = selectors.maintenance_get(m_id, user=request.user)
    statuspage.maintenance_publish(actor=_actor(request), maintenance=m)
    messages.success(request, "Maintenance published.")
    return redirect("status-maintenance", m_id=m.pk)


@status_staff
@require_POST
def maintenance_delete(request: HttpRequest, m_id: int) -> HttpResponse:
    m = selectors.maintenance_get(m_id, user=request.user)
    statuspage.maintenance_delete(actor=_actor(request), maintenance=m)
    messages.success(request, "Maintenance cancelled and removed from the status page.")
    return redirect("status-admin")


# --- branding -----------------------------------------------------------------------------


@status_staff
@require_http_methods(["GET", "POST"])
def branding(request: HttpRequest) -> HttpResponse:
    _gate(request, Action.STATUS_CONFIGURE)
    page = status_page()
    if request.method != "POST":
        form = BrandingForm(
            initial={
                "name": page.name,
                "intro": page.intro,
                "brand_colour": page.brand_colour,
                "time_zone": page.time_zone,
            }
        )
        return render(
            request,
            "comms/spstaff_branding.html",
            {"current": "status-admin", "form": form, "page": page},
        )
    form = BrandingForm(request.POST, request.FILES)
    code = 422
    if form.is_valid():
        data = form.cleaned_data
        upload = data.get("logo")

        def write() -> Any:
            logo = None
            if upload is not None:
                if upload.size > statuspage.LOGO_MAX_BYTES:
                    raise Invalid("logo", f"must be at most {statuspage.LOGO_MAX_BYTES // 1024} KB")
                logo = upload.read()
            return statuspage.page_configure(
                actor=_actor(request),
                changes={k: data[k] for k in ("name", "intro", "brand_colour", "time_zone")},
                logo=logo,
                remove_logo=data["remove_logo"],
            )

        ok, _, code = _try(form, write)
        if ok:
            messages.success(request, "Status page settings saved.")
            return redirect("status-branding")
    return render(
        request,
        "comms/spstaff_branding.html",
        {"current": "status-admin", "form": form, "page": page},
        status=code,
    )


def logo_response() -> HttpResponse:
    """The status page's logo, served safely: its sniffed image type, no sniffing by the
    browser, a sandbox CSP, cacheable. 404 without a logo. (The public side may route to
    this too.)"""
    page = status_page()
    if not page.logo or not default_storage.exists(page.logo.name):
        return HttpResponse(status=404)
    with default_storage.open(page.logo.name, "rb") as f:
        data = f.read()
    kind = statuspage.logo_type(data)
    if kind is None:
        return HttpResponse(status=404)
    response = HttpResponse(data, content_type=kind[1])
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Content-Disposition"] = 'inline; filename="logo.' + kind[0] + '"'
    response["Cache-Control"] = "public, max-age=300"
    return response


@status_staff
@require_GET
def logo(request: HttpRequest) -> HttpResponse:
    return logo_response()


# --- the incident page's section -----------------------------------------------------------


def incident_section(user: Any, incident: Incident) -> PageSection | None:
    """The "Status page" block of an internal incident page: its public incidents and a
    "Create public incident" link prefilled with the service's components."""
    if user is None or not selectors.may_view(user):
        return None
    return PageSection(
        template="comms/spstaff_incident_section.html",
        context={
            # read only when the section is shown (the page's live refresh builds the
            # same context but renders other parts)
            "status_public": SimpleLazyObject(
                lambda: list(selectors.public_incidents_of(incident))
            ),
            "status_can_publish": can(user, Action.STATUS_PUBLISH),
        },
    )


def register() -> None:
    """Called from comms/wiring.py: the incident page's section, and the services list's
    "Status page" button (the main menu has no room left at 1280 px for administrators)."""
    from tocsin.catalog.hooks import ServiceListPart, add_service_list_part
    from tocsin.incidents import hooks

    hooks.register(hooks.incident_page_sections, incident_section)
    add_service_list_part(ServiceListPart("actions", "comms/spstaff_services_actions.html"))
