"""Runbook pages (/runbooks/) and the incident page's "Runbooks" section (docs/runbooks.md).

Thin views over learning.runbooks: the same gates and services as the API. Staff read
runbooks; managers and administrators edit them (other staff: a 403 page saying why);
reporters: 404. On an incident, staff start runs and tick steps with forms (POST only).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.forms import formset_factory
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tocsin.accounts.models import User
from tocsin.catalog.models import Category, Service
from tocsin.core.actors import Actor
from tocsin.core.errors import Forbidden, Invalid, NotFound, TocsinError
from tocsin.core.web import error_page, sentence
from tocsin.incidents.hooks import PageSection
from tocsin.incidents.models import Incident, Status
from tocsin.incidents.selectors import access_incident
from tocsin.learning import runbooks
from tocsin.learning.models import Runbook, RunbookRun

NONE = ""


class RunbookForm(forms.Form):
    name = forms.CharField(label="Name", max_length=runbooks.NAME_MAX)
    description = forms.CharField(
        label="Description",
        required=False,
        max_length=runbooks.TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Markdown: when to use it.",
    )
    service = forms.ChoiceField(label="Service", required=False)
    category = forms.ChoiceField(label="Category", required=False)
    run_on_open = forms.BooleanField(
        label="Run when an incident opens",
        required=False,
        help_text="Started by itself on every new incident of this service or category.",
    )

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        service = self.fields["service"]
        category = self.fields["category"]
        assert isinstance(service, forms.ChoiceField) and isinstance(category, forms.ChoiceField)
        service.choices = [(NONE, "Any service")] + [
            (str(s.pk), s.name) for s in Service.objects.order_by("name")
        ]
        category.choices = [(NONE, "Any category")] + [
            (str(c.pk), str(c)) for c in Category.objects.filter(parent__isnull=True)
        ]


class StepForm(forms.Form):
    title = forms.CharField(label="Title", max_length=runbooks.TITLE_MAX)
    body = forms.CharField(
        label="What to do",
        required=False,
        max_length=runbooks.TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Markdown.",
    )
    url = forms.CharField(
        label="Call URL",
        required=False,
        max_length=runbooks.URL_MAX,
        widget=forms.URLInput(attrs={"spellcheck": "false", "autocomplete": "off"}),
        help_text="Optional: an automated step POSTs a signed JSON body here.",
    )
    body_template = forms.CharField(
        label="Body template",
        required=False,
        max_length=runbooks.TEMPLATE_MAX,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        help_text="Optional JSON object; string values may use {{ incident.number }} and the "
        "other variables below.",
    )


StepFormSet = formset_factory(
    StepForm, extra=2, can_delete=True, can_order=True, max_num=runbooks.STEPS_MAX
)


# --- helpers ----------------------------------------------------------------------------


def _reader_gate(request: HttpRequest) -> HttpResponse | None:
    if runbooks.may_view(request.user):
        return None
    return error_page(request, NotFound("no such page"))


def _editor_gate(request: HttpRequest) -> HttpResponse | None:
    if refused := _reader_gate(request):
        return refused
    if runbooks.may_manage(request.user):
        return None
    return error_page(request, Forbidden("runbooks are edited by managers and administrators"))


def _int_or_none(raw: str) -> int | None:
    return int(raw) if raw and raw.isascii() and raw.isdigit() and len(raw) <= 18 else None


def _apply_error(form: forms.Form, formset: Any, exc: Invalid) -> None:
    parts = exc.field.split(".")
    if parts[0] == "steps" and len(parts) == 3 and parts[1].isascii() and parts[1].isdigit():
        index = int(parts[1]) - 1
        kept = _kept_forms(formset)
        if 0 <= index < len(kept):
            target = kept[index]
            target.add_error(parts[2] if parts[2] in target.fields else None, sentence(exc.detail))
            return
    form.add_error(exc.field if exc.field in form.fields else None, sentence(exc.detail))


def _kept_forms(formset: Any) -> list[forms.Form]:
    return [f for f in formset.ordered_forms if f.cleaned_data.get("title")]


def _changes(form: RunbookForm, formset: Any) -> dict[str, Any]:
    data = form.cleaned_data
    return {
        "name": data["name"],
        "description": data["description"],
        "service": runbooks.service_for_field(_int_or_none(data["service"])),
        "category": runbooks.category_for_field(_int_or_none(data["category"])),
        "run_on_open": bool(data["run_on_open"]),
        "steps": [
            runbooks.StepSpec(
                title=f.cleaned_data["title"],
                body=f.cleaned_data.get("body", ""),
                url=f.cleaned_data.get("url", ""),
                body_template=f.cleaned_data.get("body_template", ""),
            )
            for f in _kept_forms(formset)
        ],
    }


def _editor_page(
    request: HttpRequest, form: RunbookForm, formset: Any, runbook: Runbook | None
) -> HttpResponse:
    return render(
        request,
        "learning/runbook_form.html",
        {
            "form": form,
            "formset": formset,
            "runbook": runbook,
            "variables": runbooks.VARIABLES,
        },
        status=422 if form.errors or any(formset.errors) or formset.non_form_errors() else 200,
    )


# --- runbook pages ----------------------------------------------------------------------


@login_required
@require_GET
def runbook_list(request: HttpRequest) -> HttpResponse:
    if refused := _reader_gate(request):
        return refused
    archived = request.GET.get("archived") == "1"
    rows = list(runbooks.runbook_list_for(request.user, archived=archived))
    return render(
        request,
        "learning/runbook_list.html",
        {"rows": rows, "archived": archived, "may_manage": runbooks.may_manage(request.user)},
    )


@login_required
@require_GET
def runbook_detail(request: HttpRequest, runbook_id: int) -> HttpResponse:
    if refused := _reader_gate(request):
        return refused
    try:
        runbook = runbooks.runbook_get(runbook_id, user=request.user)
    except TocsinError as exc:
        return error_page(request, exc)
    editor = runbooks.may_manage(request.user)
    steps = [
        {
            "step": s,
            "secret": runbooks.signing_secret(s.url) if (editor and s.url) else "",
        }
        for s in runbook.steps.order_by("position")
    ]
    return render(
        request,
        "learning/runbook_detail.html",
        {"runbook": runbook, "steps": steps, "may_manage": editor},
    )


@login_required
@require_http_methods(["GET", "POST"])
def runbook_new(request: HttpRequest) -> HttpResponse:
    if refused := _editor_gate(request):
        return refused
    if request.method == "GET":
        return _editor_page(request, RunbookForm(), StepFormSet(prefix="steps"), None)
    form = RunbookForm(request.POST)
    formset = StepFormSet(request.POST, prefix="steps")
    if form.is_valid() and formset.is_valid():
        try:
            runbook = runbooks.runbook_create(
                actor=Actor.for_request(request), **_changes(form, formset)
            )
        except Invalid as exc:
            _apply_error(form, formset, exc)
        else:
            messages.success(request, f"Runbook “{runbook.name}” created.")
            return redirect("runbook", runbook_id=runbook.pk)
    return _editor_page(request, form, formset, None)


@login_required
@require_http_methods(["GET", "POST"])
def runbook_edit(request: HttpRequest, runbook_id: int) -> HttpResponse:
    if refused := _editor_gate(request):
        return refused
    try:
        runbook = runbooks.runbook_get(runbook_id, user=request.user)
    except TocsinError as exc:
        return error_page(request, exc)
    if request.method == "GET":
        form = RunbookForm(
            initial={
                "name": runbook.name,
                "description": runbook.description,
                "service": str(runbook.service_id or NONE),
                "category": str(runbook.category_id or NONE),
                "run_on_open": runbook.run_on_open,
            }
        )
        formset = StepFormSet(
            prefix="steps",
            initial=[
                {
                    "title": s.title,
                    "body": s.body,
                    "url": s.url,
                    "body_template": s.body_template,
                    "ORDER": s.position,
                }
                for s in runbook.steps.order_by("position")
            ],
        )
        return _editor_page(request, form, formset, runbook)
    form = RunbookForm(request.POST)
    formset = StepFormSet(request.POST, prefix="steps")
    if form.is_valid() and formset.is_valid():
        try:
            runbooks.runbook_update(
                runbook=runbook, actor=Actor.for_request(request), changes=_changes(form, formset)
            )
        except Invalid as exc:
            _apply_error(form, formset, exc)
        else:
            messages.success(request, "Runbook saved.")
            return redirect("runbook", runbook_id=runbook.pk)
    return _editor_page(request, form, formset, runbook)


@login_required
@require_POST
def runbook_archive(request: HttpRequest, runbook_id: int) -> HttpResponse:
    if refused := _editor_gate(request):
        return refused
    try:
        runbook = runbooks.runbook_get(runbook_id, user=request.user)
        archived = request.POST.get("archived") != "no"
        runbooks.runbook_archive(
            runbook=runbook, actor=Actor.for_request(request), archived=archived
        )
    except TocsinError as exc:
        return error_page(request, exc)
    messages.success(request, "Runbook archived." if archived else "Runbook restored.")
    return redirect("runbook", runbook_id=runbook.pk)


# --- the incident page's section ----------------------------------------------------------------


def runbook_section(user: User | None, incident: Incident) -> PageSection | None:
    if user is None or not runbooks.may_view(user):
        return None

    def state() -> dict[str, Any]:
        runs = runbooks.runs_of(incident)
        return {
            "runs": [
                {"run": r, "done": d, "total": t} for r in runs for d, t in [runbooks.progress(r)]
            ],
            "available": runbooks.runbooks_to_start(incident),
        }

    return PageSection(
        template="learning/runbook_section.html",
        context={
            "runbook_state": SimpleLazyObject(state),
            "runbook_may_run": runbooks.may_run(user, incident)
            and incident.status != Status.CLOSED,
        },
    )


def _act(request: HttpRequest, ref: str, write: Callable[[Incident, Actor], str]) -> HttpResponse:
    try:
        incident = access_incident(request.user, ref)  # type: ignore[arg-type]
        if not runbooks.may_view(request.user):
            raise NotFound(f"no incident {incident.ref}")
    except TocsinError as exc:
        return error_page(request, exc)
    try:
        done = write(incident, Actor.for_request(request))
    except Invalid as exc:
        messages.error(request, sentence(exc.detail, exc.field.capitalize()))
    except TocsinError as exc:
        messages.error(request, sentence(exc.message))
    else:
        messages.success(request, done)
    return redirect(reverse("incident", kwargs={"ref": incident.ref}) + "#runbooks")


def _run_of(incident: Incident, run_id: int) -> RunbookRun:
    run = RunbookRun.objects.select_related("incident").filter(pk=run_id, incident=incident).first()
    if run is None:
        raise NotFound(f"{incident.ref} has no runbook run {run_id}")
    return run


@login_required
@require_POST
def run_start_view(request: HttpRequest, ref: str) -> HttpResponse:
    def write(incident: Incident, actor: Actor) -> str:
        runbook_id = _int_or_none(request.POST.get("runbook", ""))
        runbook = Runbook.objects.filter(pk=runbook_id).first() if runbook_id else None
        if runbook is None:
            raise Invalid("runbook", "choose a runbook")
        run = runbooks.run_start(incident=incident, runbook=runbook, actor=actor)
        return f"Runbook “{run.name}” started."

    return _act(request, ref, write)


@login_required
@require_POST
def run_step_view(request: HttpRequest, ref: str, run_id: int, position: int) -> HttpResponse:
    def write(incident: Incident, actor: Actor) -> str:
        done = request.POST.get("done")
        if done not in ("yes", "no"):
            raise Invalid("done", "choose yes or no")
        step = runbooks.run_step_set(
            run=_run_of(incident, run_id), position=position, done=done == "yes", actor=actor
        )
        return f"{'Done' if step.done_at else 'Not done'}: {step.title}."

    return _act(request, ref, write)


@login_required
@require_POST
def run_call_view(request: HttpRequest, ref: str, run_id: int, position: int) -> HttpResponse:
    def write(incident: Incident, actor: Actor) -> str:
        step = runbooks.run_step_call(run=_run_of(incident, run_id), position=position, actor=actor)
        return f"Calling again: {step.title}."

    return _act(request, ref, write)
