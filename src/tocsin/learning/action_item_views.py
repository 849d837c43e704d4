"""Action items on the web (docs/action-items.md): the list (/action-items/, filters mine,
my teams, overdue, status), the create form, an item's page with its edit form and
"accept as risk" (managers), the incident page's section and the person page's overdue
section. Thin views over learning/action_items.py (writes) and action_item_selectors.py
(the same gates as the API: staff only, 404 for anyone else).

Sections are added through `incidents.hooks.incident_page_sections` and
`notify.hooks.person_page_sections` (`register()`, called from learning/wiring.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tocsin.accounts.models import Team, User
from tocsin.accounts.permissions import Action, can, people_who_may
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.core.errors import Invalid, NotFound, TocsinError
from tocsin.core.web import apply_error, error_page
from tocsin.incidents import hooks as incident_hooks
from tocsin.incidents.hooks import PageSection
from tocsin.incidents.models import Incident, Priority
from tocsin.incidents.selectors import access_incident
from tocsin.learning import action_item_selectors as selectors
from tocsin.learning import action_items
from tocsin.learning.models import ActionItem, ActionItemStatus, Postmortem
from tocsin.notify import hooks as notify_hooks
from tocsin.notify.hooks import PersonSection

LIST_SHOWN = 200
DATETIME_LOCAL = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def register() -> None:
    incident_hooks.register(incident_hooks.incident_page_sections, incident_section)
    notify_hooks.register_person_section(person_section)


# --- forms ------------------------------------------------------------------------------------


class ActionItemForm(forms.Form):
    title = forms.CharField(label="What is to be done", max_length=action_items.TITLE_MAX)
    owner = forms.ChoiceField(label="Owner", required=False)
    due_at = forms.DateTimeField(
        label="Due", required=False, widget=DATETIME_LOCAL, help_text="In your time zone."
    )
    priority = forms.TypedChoiceField(
        label="Priority", choices=Priority.choices, coerce=int, initial=Priority.P3
    )
    status = forms.ChoiceField(label="Status", choices=())
    tracker_url = forms.CharField(
        label="Tracker link",
        required=False,
        max_length=action_items.URL_MAX,
        help_text="The item in your issue tracker: an http:// or https:// address.",
        widget=forms.URLInput(attrs={"spellcheck": "false", "autocomplete": "off"}),
    )
    description = forms.CharField(
        label="Details",
        required=False,
        max_length=action_items.DESCRIPTION_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(self, *args: Any, item: ActionItem | None = None, **kw: Any) -> None:
        super().__init__(*args, **kw)
        owner = self.fields["owner"]
        assert isinstance(owner, forms.ChoiceField)
        people = list(people_who_may(Action.ACTION_ITEM_EDIT).order_by("name", "username"))
        owner.choices = [("", "Nobody yet")] + [
            (p.username, f"{p.display_name} ({p.username})") for p in people
        ]
        status = self.fields["status"]
        assert isinstance(status, forms.ChoiceField)
        if item is None:
            del self.fields["status"]
        else:
            allowed = list(action_items.EDITABLE_STATUSES)
            if item.status == ActionItemStatus.ACCEPTED_RISK:
                allowed.append(ActionItemStatus.ACCEPTED_RISK)
            status.choices = [(s, ActionItemStatus(s).label) for s in allowed]


class NewActionItemForm(ActionItemForm):
    incident = forms.CharField(
        label="Incident", max_length=30, help_text="The incident it comes from, e.g. INC-42."
    )


class AcceptRiskForm(forms.Form):
    reason = forms.CharField(
        label="Why the risk is accepted",
        max_length=action_items.REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


def _owner(form: forms.Form) -> User | None:
    username = form.cleaned_data.get("owner") or ""
    if not username:
        return None
    found = User.objects.filter(username=username).first()
    if found is None:
        raise Invalid("owner", "No one has this username.")
    return found


# --- the list -----------------------------------------------------------------------------------


def _gate(request: HttpRequest) -> HttpResponse | None:
    if selectors.may_view(request.user):  # type: ignore[arg-type]
        return None
    return error_page(request, NotFound("no such page"))


@login_required
@require_GET
def action_item_list(request: HttpRequest) -> HttpResponse:
    if refused := _gate(request):
        return refused
    user: User = request.user  # type: ignore[assignment]
    mine = request.GET.get("mine") == "1"
    team = request.GET.get("myteams") == "1"
    overdue = request.GET.get("overdue") == "1"
    status = request.GET.get("status", "")
    if status not in ActionItemStatus.values:
        status = ""
    # one team's items (?team=<id>): the team's own view, with its overdue count
    raw_team = request.GET.get("team", "")
    one_team = Team.objects.filter(pk=int(raw_team)).first() if _digits(raw_team) else None
    teams_of_mine = list(user.teams.order_by("name"))
    my_teams = tuple(t.pk for t in teams_of_mine)
    filters = selectors.Filters(
        owner=user if mine else None,
        team=one_team,
        teams=my_teams if team else None,
        status=status or None,
        overdue=True if overdue else None,
    )
    at = now()
    qs = selectors.action_item_list(filters, at=at)
    team_overdue = selectors.overdue_of_team(one_team, at=at)[1] if one_team else 0
    return render(
        request,
        "learning/action_items/list.html",
        {
            "items": list(qs[:LIST_SHOWN]),
            "count": qs.count(),
            "shown": LIST_SHOWN,
            "mine": mine,
            "team": team,
            "overdue": overdue,
            "status": status,
            "statuses": ActionItemStatus.choices,
            "has_teams": bool(my_teams),
            "one_team": one_team,
            "teams_of_mine": teams_of_mine,
            "team_overdue": team_overdue,
            "filtered": mine or team or overdue or bool(status) or one_team is not None,
            "now": at,
        },
    )


# --- create ---------------------------------------------------------------------------------------


def _source(request: HttpRequest) -> tuple[Incident | None, Postmortem | None]:
    """Where the new item comes from: ?postmortem=7 or ?incident=INC-42 (404 if unseen)."""
    raw = request.GET.get("postmortem", "")
    if _digits(raw):
        postmortem = Postmortem.objects.select_related("incident").filter(pk=int(raw)).first()
        if postmortem is None:
            raise NotFound(f"no postmortem {raw}")
        return postmortem.incident, postmortem
    ref = request.GET.get("incident", "")
    if ref:
        return access_incident(request.user, ref), None  # type: ignore[arg-type]
    return None, None


@login_required
@require_http_methods(["GET", "POST"])
def action_item_new(request: HttpRequest) -> HttpResponse:
    if refused := _gate(request):
        return refused
    try:
        incident, postmortem = _source(request)
    except TocsinError as exc:
        return error_page(request, exc)
    initial: dict[str, Any] = {"priority": Priority.P3}
    if incident is not None:
        initial["incident"] = incident.ref
        initial["priority"] = incident.priority
    form = NewActionItemForm(request.POST or None, initial=initial)
    if postmortem is not None:
        form.fields["incident"].disabled = True
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            data = form.cleaned_data
            try:
                chosen = incident if postmortem is not None else _incident_field(request, data)
                item = action_items.action_item_create(
                    actor=Actor.for_user(request.user),
                    title=data["title"],
                    incident=chosen,
                    postmortem=postmortem,
                    description=data["description"],
                    owner=_owner(form),
                    due_at=data["due_at"],
                    priority=data["priority"],
                    tracker_url=data["tracker_url"],
                )
            except Invalid as exc:
                apply_error(form, exc)
            else:
                messages.success(request, f"Action item #{item.pk} added to {item.incident.ref}.")  # type: ignore[union-attr]
                return redirect(_back(request, item))
    return render(
        request,
        "learning/action_items/form.html",
        {"form": form, "incident": incident, "postmortem": postmortem, "back": _back_url(request)},
        status=status,
    )


def _incident_field(request: HttpRequest, data: dict[str, Any]) -> Incident:
    try:
        return access_incident(request.user, data["incident"].strip())  # type: ignore[arg-type]
    except NotFound:
        raise Invalid("incident", "No incident has this number.") from None


def _back_url(request: HttpRequest) -> str:
    back = request.GET.get("back", "")
    # only a path of this site, never another host ("//evil", "/\\evil")
    safe = back.startswith("/") and url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return back if safe and not back.startswith(("//", "/\\")) else ""


def _back(request: HttpRequest, item: ActionItem) -> str:
    return _back_url(request) or reverse("action-item", args=[item.pk])


# --- one item ------------------------------------------------------------------------------------


def _item(request: HttpRequest, item_id: int) -> ActionItem | HttpResponse:
    try:
        return selectors.access_action_item(request.user, item_id)  # type: ignore[arg-type]
    except TocsinError as exc:
        return error_page(request, exc)


def _edit_initial(item: ActionItem) -> dict[str, Any]:
    return {
        "title": item.title,
        "owner": item.owner.username if item.owner else "",
        "due_at": item.due_at,
        "priority": item.priority,
        "status": item.status,
        "tracker_url": item.tracker_url,
        "description": item.description,
    }


def _detail(
    request: HttpRequest,
    item: ActionItem,
    *,
    form: ActionItemForm | None = None,
    risk_form: AcceptRiskForm | None = None,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "learning/action_items/detail.html",
        {
            "item": item,
            "form": form or ActionItemForm(initial=_edit_initial(item), item=item),
            "risk_form": risk_form or AcceptRiskForm(),
            "risk_open": risk_form is not None,
            "may_accept": can(request.user, Action.ACTION_ITEM_ACCEPT_RISK)
            and item.status != ActionItemStatus.ACCEPTED_RISK,
            "overdue": item.overdue_at(now()),
        },
        status=status,
    )


def _same_minute(a: dt.datetime | None, b: dt.datetime | None) -> bool:
    if a is None or b is None:
        return a is b
    return a.replace(second=0, microsecond=0) == b.replace(second=0, microsecond=0)


@login_required
@require_http_methods(["GET", "POST"])
def action_item_detail(request: HttpRequest, item_id: int) -> HttpResponse:
    item = _item(request, item_id)
    if isinstance(item, HttpResponse):
        return item
    if request.method != "POST":
        return _detail(request, item)
    form = ActionItemForm(request.POST, item=item)
    if form.is_valid():
        data = form.cleaned_data
        changes: dict[str, Any] = {
            "title": data["title"],
            "priority": data["priority"],
            "status": data["status"],
            "tracker_url": data["tracker_url"],
            "description": data["description"],
        }
        # a due date shown to the minute and sent back unchanged is kept as it was
        if not _same_minute(data["due_at"], item.due_at):
            changes["due_at"] = data["due_at"]
        try:
            changes["owner"] = _owner(form)
            action_items.action_item_update(
                item=item,
                actor=Actor.for_user(request.user),
                **changes,
            )
        except Invalid as exc:
            apply_error(form, exc)
        else:
            messages.success(request, "Action item saved.")
            return redirect("action-item", item.pk)
    return _detail(request, item, form=form, status=422)


@login_required
@require_POST
def action_item_accept_risk(request: HttpRequest, item_id: int) -> HttpResponse:
    item = _item(request, item_id)
    if isinstance(item, HttpResponse):
        return item
    form = AcceptRiskForm(request.POST)
    if form.is_valid():
        try:
            action_items.action_item_accept_risk(
                item=item,
                actor=Actor.for_user(request.user),
                reason=form.cleaned_data["reason"],
            )
        except Invalid as exc:
            apply_error(form, exc)
        except TocsinError as exc:
            return error_page(request, exc)
        else:
            messages.success(request, "Accepted as a risk.")
            return redirect("action-item", item.pk)
    return _detail(request, item, risk_form=form, status=422)


# --- sections of other pages -------------------------------------------------------------------


def incident_section(user: User | None, incident: Incident) -> PageSection | None:
    """The incident page's "Action items": its items and "Add action item" (staff)."""
    if not selectors.may_view(user):
        return None
    return PageSection(
        template="learning/action_items/incident_section.html",
        context={
            "action_items_section": {
                "items": selectors.incident_items(incident),
                "can_add": can(user, Action.ACTION_ITEM_EDIT),
                "now": now(),
            }
        },
    )


def person_section(viewer: User | None, person: User) -> PersonSection | None:
    """A person's overdue action items on their page (when both are staff)."""
    if not selectors.may_view(viewer) or not selectors.may_view(person):
        return None
    items, count = selectors.overdue_of_person(person)
    return PersonSection(
        template="learning/action_items/person_section.html",
        context={"overdue_items": {"items": items, "count": count, "person": person}},
    )


def _digits(value: str) -> bool:
    """An id as people type it: ASCII digits, not too many for the database ("²" and
    "٣" are digits to Python but not to int() or the database)."""
    return value.isascii() and value.isdigit() and len(value) <= 18
