"""The incident page's "Stakeholder updates" section, its forms, the update templates'
settings page and the unsubscribe page (issue 11, point 6).

The section is added through `tocsin.incidents.hooks.incident_page_sections` (see
comms/wiring.py) for staff. It shows the updates posted, a form to post one (prefilled
from a template: choosing another template is a GET that reloads the page with it, so
it works without JavaScript), the "Subscribe me" toggle and the subscribers. Each form
POSTs here; the view calls the service and goes back to the section.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from tocsin.accounts.models import Team, User
from tocsin.accounts.permissions import Action, can
from tocsin.comms import updates
from tocsin.comms.models import (
    Subscription,
    SubscriptionChannel,
    UpdateStatus,
    UpdateTemplate,
)
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.core.errors import Invalid, NotFound, TocsinError
from tocsin.core.web import error_page, sentence
from tocsin.incidents.hooks import PageSection
from tocsin.incidents.models import Incident, Status

DEFAULT_NEXT_MINUTES = 30
FIELD_LABELS = {
    "status": "Status",
    "body": "Update",
    "next_update_minutes": "Next update in",
    "template": "Template",
    "user": "Person",
    "team": "Team",
    "email": "Email address",
    "channel": "Send by",
    "name": "Name",
}


# --- forms --------------------------------------------------------------------------------------


class UpdateForm(forms.Form):
    template = forms.TypedChoiceField(
        coerce=int, required=False, label="Template", widget=forms.HiddenInput
    )
    status = forms.ChoiceField(choices=UpdateStatus.choices, label="Status")
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=updates.BODY_MAX,
        label="Update",
        help_text="Sent as written to every subscriber; the reporter sees it on the timeline. "
        "Never paste internal notes here.",
    )
    next_update_minutes = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=updates.NEXT_UPDATE_MAX,
        label="Next update in (minutes)",
        help_text="Leave empty to promise no time. The communications lead is reminded "
        "when it is due.",
    )

    def __init__(self, *args: Any, templates: list[UpdateTemplate], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["template"].choices = [("", "— none —")] + [  # type: ignore[attr-defined]
            (t.pk, t.name) for t in templates
        ]


class SubscriberForm(forms.Form):
    user = forms.ChoiceField(required=False, label="Person")
    team = forms.TypedChoiceField(coerce=int, required=False, label="Team")
    email = forms.EmailField(required=False, label="Outside email address")
    channel = forms.ChoiceField(
        choices=SubscriptionChannel.choices,
        initial=SubscriptionChannel.EMAIL,
        label="Send a person's or a team's updates by",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        none = [("", "—")]
        self.fields["user"].choices = none + [  # type: ignore[attr-defined]
            (u.username, u.display_name) for u in updates.people_choices()
        ]
        self.fields["team"].choices = none + [  # type: ignore[attr-defined]
            (t.pk, t.name) for t in Team.objects.order_by("name")
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        chosen = [n for n in ("user", "team", "email") if data.get(n) not in (None, "")]
        if len(chosen) != 1:
            raise forms.ValidationError("Choose exactly one: a person, a team or an email address.")
        return data


class TemplateForm(forms.Form):
    name = forms.CharField(max_length=updates.NAME_MAX, label="Name")
    status = forms.ChoiceField(choices=UpdateStatus.choices, label="Status")
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=updates.BODY_MAX,
        label="Text",
        help_text="Variables: " + " ".join("{" + v + "}" for v in updates.VARIABLES),
    )
    archived = forms.BooleanField(required=False, label="Archived (not offered any more)")


# --- the section --------------------------------------------------------------------------------


def _default_template(incident: Incident, templates: list[UpdateTemplate]) -> UpdateTemplate | None:
    """The template that fits the next step: investigating first, then the latest's status
    (resolved once the incident is)."""
    if not templates:
        return None
    latest = updates.latest_update(incident)
    wanted: str
    if incident.status in (Status.RESOLVED, Status.CLOSED):
        wanted = UpdateStatus.RESOLVED
    elif latest is None:
        wanted = UpdateStatus.INVESTIGATING
    else:
        wanted = latest.status
    return next((t for t in templates if t.status == wanted), templates[0])


def _compose_form(incident: Incident, template_id: int | None = None) -> UpdateForm:
    templates = list(updates.update_templates())
    chosen = next((t for t in templates if t.pk == template_id), None)
    chosen = chosen or _default_template(incident, templates)
    initial: dict[str, Any] = {"next_update_minutes": DEFAULT_NEXT_MINUTES}
    if chosen is not None:
        if chosen.status == UpdateStatus.RESOLVED:
            initial["next_update_minutes"] = None
        initial.update(
            template=chosen.pk,
            status=chosen.status,
            body=updates.template_prefill(chosen, incident, initial["next_update_minutes"]),
        )
    return UpdateForm(initial=initial, templates=templates, auto_id="upd-%s")


def _section_context(user: User, incident: Incident, template_id: int | None) -> dict[str, Any]:
    update_list = list(updates.updates_of(incident)[:20])
    latest = update_list[0] if update_list else None
    subscriptions = list(updates.subscriptions_of(incident=incident))
    recipients = updates.update_recipients(incident)
    mine = next((s for s in subscriptions if s.user_id == user.pk), None)
    return {
        "list": update_list,
        "latest": latest,
        "overdue": bool(
            latest and latest.next_update_at and latest.next_update_at <= now() and incident.is_open
        ),
        "can_post": can(user, Action.UPDATE_POST, incident) and incident.status != Status.CLOSED,
        "form": _compose_form(incident, template_id),
        "subscriptions": subscriptions,
        "mine": mine,
        "recipients": recipients,
        "others": len(recipients) - sum(1 for r in recipients if r.why == "subscribed"),
        "subscriber_form": SubscriberForm(auto_id="sub-%s"),
        "channels": SubscriptionChannel.choices,
    }


def updates_section(user: User | None, incident: Incident) -> PageSection | None:
    """The "Stakeholder updates" block of the incident page, for staff."""
    if user is None or not can(user, Action.UPDATE_SUBSCRIBE, incident):
        return None
    return PageSection(
        template="comms/updates_section.html",
        context={"upd": SimpleLazyObject(lambda: _section_context(user, incident, None))},
    )


# --- the forms' POSTs ---------------------------------------------------------------------------


def _back(incident: Incident) -> HttpResponse:
    return redirect(reverse("incident", kwargs={"ref": incident.ref}) + "#updates")


def _form_errors(form: forms.Form) -> str:
    parts = []
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else ""
        for error in errors:
            parts.append(f"{label}: {error}" if label else sentence(str(error)))
    return " ".join(parts) or "Check the form."


def _gate(request: HttpRequest, ref: str) -> Incident:
    incident = updates.access_incident_subscribers(request.user, ref)  # type: ignore[arg-type]
    return incident


def _say(request: HttpRequest, exc: TocsinError) -> None:
    if isinstance(exc, Invalid):
        label = FIELD_LABELS.get(exc.field, exc.field.replace("_", " ").capitalize())
        messages.error(request, f"{label}: {sentence(exc.detail)}")
    else:
        messages.error(request, sentence(exc.message))


@login_required
@require_http_methods(["GET", "POST"])
def update_compose(request: HttpRequest, ref: str) -> HttpResponse:
    """GET: the compose page with a template's text (the no-JavaScript template chooser).
    POST: post the update, back to the incident's section; errors re-render the form."""
    try:
        incident = _gate(request, ref)
    except TocsinError as exc:
        return error_page(request, exc)
    templates = list(updates.update_templates())
    if request.method == "GET":
        raw = request.GET.get("template", "")
        form = _compose_form(incident, int(raw) if raw.isdigit() else None)
        return render(request, "comms/updates_compose.html", {"incident": incident, "form": form})
    form = UpdateForm(request.POST, templates=templates, auto_id="upd-%s")
    error = ""
    if form.is_valid():
        data = form.cleaned_data
        template = next((t for t in templates if t.pk == data.get("template")), None)
        try:
            update = updates.update_post(
                incident=incident,
                actor=Actor.for_request(request),
                status=data["status"],
                body=data["body"],
                next_update_minutes=data.get("next_update_minutes"),
                template=template,
            )
        except Invalid as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.detail)
        except TocsinError as exc:
            error = sentence(exc.message)
        else:
            messages.success(
                request,
                f"Update posted and sent to {update.recipients} "
                f"recipient{'s' if update.recipients != 1 else ''}.",
            )
            return _back(incident)
    context = {"incident": incident, "form": form, "error": error}
    return render(request, "comms/updates_compose.html", context, status=422 if not error else 409)


@login_required
@require_POST
def subscribe_me(request: HttpRequest, ref: str) -> HttpResponse:
    """Toggle the signed-in person's subscription (and its channel)."""
    try:
        incident = _gate(request, ref)
    except TocsinError as exc:
        return error_page(request, exc)
    user: User = request.user  # type: ignore[assignment]
    actor = Actor.for_request(request)
    mine = updates.subscription_of(user, incident)
    try:
        if request.POST.get("subscribe") == "0":
            if mine is not None:
                updates.subscription_remove(actor=actor, subscription=mine)
            messages.success(request, f"You no longer receive the updates of {incident.ref}.")
        else:
            channel = request.POST.get("channel", SubscriptionChannel.EMAIL)
            updates.subscription_add(actor=actor, incident=incident, user=user, channel=channel)
            messages.success(request, f"You receive the updates of {incident.ref}.")
    except TocsinError as exc:
        _say(request, exc)
    return _back(incident)


@login_required
@require_POST
def subscriber_add(request: HttpRequest, ref: str) -> HttpResponse:
    try:
        incident = _gate(request, ref)
    except TocsinError as exc:
        return error_page(request, exc)
    form = SubscriberForm(request.POST)
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return _back(incident)
    data = form.cleaned_data
    try:
        person = None
        if data.get("user"):
            person = User.objects.filter(username=data["user"]).first()
            if person is None:
                raise Invalid("user", "no one has this username")
        team = Team.objects.filter(pk=data["team"]).first() if data.get("team") else None
        subscription = updates.subscription_add(
            actor=Actor.for_request(request),
            incident=incident,
            user=person,
            team=team,
            email=data.get("email") or "",
            channel=data["channel"],
        )
    except TocsinError as exc:
        _say(request, exc)
    else:
        who = subscription.email or (
            subscription.team.name if subscription.team_id else subscription.user.display_name  # type: ignore[union-attr]
        )
        messages.success(request, f"{who} receives the updates of {incident.ref}.")
    return _back(incident)


@login_required
@require_POST
def subscriber_remove(request: HttpRequest, ref: str, subscription_id: int) -> HttpResponse:
    try:
        incident = _gate(request, ref)
        found = Subscription.objects.filter(pk=subscription_id, incident=incident).first()
        if found is None:
            raise NotFound(f"no subscriber {subscription_id}")
    except TocsinError as exc:
        return error_page(request, exc)
    try:
        updates.subscription_remove(actor=Actor.for_request(request), subscription=found)
    except TocsinError as exc:
        _say(request, exc)
    else:
        messages.success(request, "Subscriber removed.")
    return _back(incident)


# --- settings: the update templates -----------------------------------------------------


def _refused(request: HttpRequest) -> HttpResponse | None:
    if can(request.user, Action.UPDATE_TEMPLATE_MANAGE):
        return None
    return render(
        request, "403.html", {"message": "The settings are for administrators."}, status=403
    )


@login_required
@require_http_methods(["GET", "POST"])
def templates_page(request: HttpRequest) -> HttpResponse:
    """Every update template with its edit form, and a form for a new one."""
    if refused := _refused(request):
        return refused
    actor = Actor.for_request(request)
    all_templates = list(UpdateTemplate.objects.all())
    forms_by_id: dict[str, TemplateForm] = {}
    status = 200
    if request.method == "POST":
        key = request.POST.get("template", "new")
        target = next((t for t in all_templates if str(t.pk) == key), None)
        if key != "new" and target is None:
            return error_page(request, NotFound("no such template"))
        form = TemplateForm(request.POST, prefix=f"t{key}")
        if form.is_valid():
            data = form.cleaned_data
            try:
                if target is None:
                    updates.update_template_create(
                        actor=actor, name=data["name"], status=data["status"], body=data["body"]
                    )
                else:
                    updates.update_template_edit(
                        actor=actor,
                        template=target,
                        name=data["name"],
                        status=data["status"],
                        body=data["body"],
                        archived=data["archived"],
                    )
            except Invalid as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.detail)
            else:
                messages.success(request, f"Template {data['name']} saved.")
                return redirect("settings-update-templates")
        forms_by_id[key] = form
        status = 422
    rows = [
        {
            "template": t,
            "form": forms_by_id.get(str(t.pk))
            or TemplateForm(
                prefix=f"t{t.pk}",
                initial={
                    "name": t.name,
                    "status": t.status,
                    "body": t.body,
                    "archived": t.archived_at is not None,
                },
            ),
        }
        for t in all_templates
    ]
    context = {
        "rows": rows,
        "new_form": forms_by_id.get("new") or TemplateForm(prefix="tnew"),
        "variables": updates.VARIABLES,
    }
    return render(request, "comms/updates_templates.html", context, status=status)


# --- unsubscribe (no sign-in: the signed link is the key) ---------------------------------


@csrf_exempt  # RFC 8058: mail clients POST "List-Unsubscribe=One-Click" with no cookie
@require_http_methods(["GET", "POST"])
def unsubscribe_view(request: HttpRequest, token: str) -> HttpResponse:
    """GET: a page asking to confirm (a link scanner's GET changes nothing). POST: the
    subscription is removed (the button, or a mail client's one-click POST)."""
    try:
        subscription, email = updates.unsubscribe_lookup(token)
    except TocsinError as exc:
        return render(
            request, "comms/updates_unsubscribe.html", {"invalid": exc.message}, status=404
        )
    if request.method == "POST":
        updates.unsubscribe(token=token)
        return render(request, "comms/updates_unsubscribe.html", {"done": True, "email": email})
    return render(
        request,
        "comms/updates_unsubscribe.html",
        {"email": email, "gone": subscription is None, "token": token},
    )
