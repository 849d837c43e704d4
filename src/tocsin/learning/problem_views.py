"""Problems and known errors on the web (docs/problems.md): the list, a problem's page
(rendered investigation, root cause and workaround, linked incidents, the state
buttons), create and edit forms, the trends page, and the incident page's "Problems and
known errors" section (matching known errors with their workaround and a one-click
link), added through `incidents.hooks.incident_page_sections` in `register()`.

Everything is for staff: a reporter gets 404 on every page, and no section.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tocsin.accounts.models import User
from tocsin.accounts.permissions import Action, people_who_may
from tocsin.catalog.models import Category, Service
from tocsin.core.actors import Actor
from tocsin.core.errors import Invalid, NotFound, TocsinError
from tocsin.core.web import error_page, sentence
from tocsin.incidents import hooks as incident_hooks
from tocsin.incidents.hooks import PageSection
from tocsin.incidents.models import Incident
from tocsin.incidents.selectors import access_incident
from tocsin.learning import markdown, problems
from tocsin.learning.models import Problem, ProblemStatus

PAGE_SIZE = 50


def register() -> None:
    incident_hooks.register(incident_hooks.incident_page_sections, problem_section)


def _not_found(request: HttpRequest) -> HttpResponse:
    return error_page(request, NotFound("Page not found"))


# --- forms -----------------------------------------------------------------------------------


def _service_choices() -> list[tuple[Any, str]]:
    none: list[tuple[Any, str]] = [("", "— none —")]
    return none + [(s.pk, s.name) for s in Service.objects.order_by("name")]


def _category_choices() -> list[tuple[Any, str]]:
    none: list[tuple[Any, str]] = [("", "— none —")]
    return none + [
        (c.pk, f"{c.parent.name} › {c.name}" if c.parent is not None else c.name)
        for c in Category.objects.select_related("parent")
    ]


class ProblemForm(forms.Form):
    title = forms.CharField(max_length=problems.TITLE_MAX, label="Title")
    description = forms.CharField(
        required=False,
        max_length=problems.DESCRIPTION_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Description",
        help_text="What people notice.",
    )
    service = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    category = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    owner = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    investigation = forms.CharField(
        required=False,
        max_length=problems.MARKDOWN_MAX,
        widget=forms.Textarea(attrs={"rows": 6}),
        label="Investigation",
        help_text="Markdown. What was looked at, what was ruled out.",
    )
    root_cause = forms.CharField(
        required=False,
        max_length=problems.MARKDOWN_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
        label="Root cause",
        help_text="Markdown.",
    )
    workaround = forms.CharField(
        required=False,
        max_length=problems.MARKDOWN_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
        label="Workaround",
        help_text="Markdown. Shown to whoever triages a matching incident.",
    )
    incident = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["service"].choices = _service_choices()  # type: ignore[attr-defined]
        self.fields["category"].choices = _category_choices()  # type: ignore[attr-defined]
        self.fields["owner"].choices = [("", "— nobody —")] + [  # type: ignore[attr-defined]
            (u.pk, u.display_name) for u in people_who_may(Action.PROBLEM_EDIT).order_by("name")
        ]
        self.fields["service"].label = "Service"
        self.fields["category"].label = "Category"
        self.fields["owner"].label = "Owner"

    def values(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "title": data["title"],
            "description": data["description"],
            "service": Service.objects.filter(pk=data["service"]).first()
            if data["service"]
            else None,
            "category": Category.objects.filter(pk=data["category"]).first()
            if data["category"]
            else None,
            "owner": User.objects.filter(pk=data["owner"]).first() if data["owner"] else None,
            "investigation": data["investigation"],
            "root_cause": data["root_cause"],
            "workaround": data["workaround"],
        }


def _form_error(form: forms.Form, exc: Invalid) -> None:
    field = exc.field if exc.field in form.fields else None
    label = form.fields[field].label if field else None
    form.add_error(field, sentence(exc.detail, str(label or "")))


# --- the list, a problem, create and edit ---------------------------------------------------


@login_required
@require_GET
def problem_list(request: HttpRequest) -> HttpResponse:
    if not problems.may_view(request.user):
        return _not_found(request)
    status = request.GET.get("status") or None
    if status not in (None, *ProblemStatus.values):
        status = None
    service = _pick(Service, request.GET.get("service"))
    category = _pick(Category, request.GET.get("category"))
    rows = problems.problem_list_for(
        request.user, status=status, service=service, category=category
    )
    paginator = Paginator(rows, PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    context = {
        "page": page,
        "rows": page.object_list,
        "statuses": ProblemStatus.choices,
        "services": Service.objects.order_by("name"),
        "categories": Category.objects.select_related("parent"),
        "current_status": status or "",
        "current_service": service.pk if service else None,
        "current_category": category.pk if category else None,
        "current": "problems",
    }
    return render(request, "learning/problem_list.html", context)


def _pick(model: Any, value: str | None) -> Any:
    if not value or not (value.isascii() and value.isdigit()) or len(value) > 15:
        return None
    return model.objects.filter(pk=int(value)).first()


@login_required
@require_http_methods(["GET", "POST"])
def problem_new(request: HttpRequest) -> HttpResponse:
    if not problems.may_edit(request.user):
        return _not_found(request)
    incident: Incident | None = None
    ref = (request.POST if request.method == "POST" else request.GET).get("incident", "")
    if ref:
        try:
            incident = access_incident(request.user, ref)  # type: ignore[arg-type]
        except TocsinError as exc:
            return error_page(request, exc)
    if request.method == "POST":
        form = ProblemForm(request.POST)
        if form.is_valid():
            try:
                problem = problems.problem_create(
                    actor=Actor.for_request(request),
                    incidents=[incident] if incident is not None else [],
                    **form.values(),
                )
            except Invalid as exc:
                _form_error(form, exc)
            else:
                messages.success(request, f"{problem.ref} recorded.")
                return redirect("problem", ref=problem.ref)
    else:
        initial: dict[str, Any] = {"owner": request.user.pk}
        if incident is not None:
            initial.update(
                title=incident.title,
                description=incident.description[: problems.DESCRIPTION_MAX],
                service=incident.service_id,
                category=incident.category_id,
                incident=incident.ref,
            )
        form = ProblemForm(initial=initial)
    status = 422 if form.is_bound and form.errors else 200
    context = {"form": form, "incident": incident, "current": "problems"}
    return render(request, "learning/problem_form.html", context, status=status)


@login_required
@require_GET
def problem_detail(request: HttpRequest, ref: str) -> HttpResponse:
    try:
        problem = problems.access_problem(request.user, ref)
    except TocsinError as exc:
        return error_page(request, exc)
    return render(request, "learning/problem_detail.html", _detail_context(problem))


def _detail_context(problem: Problem, **extra: Any) -> dict[str, Any]:
    context = {
        "problem": problem,
        "investigation_html": markdown.render(problem.investigation),
        "root_cause_html": markdown.render(problem.root_cause),
        "workaround_html": markdown.render(problem.workaround),
        "incidents": problems.linked_incidents(problem),
        "moves": problems.allowed_moves(problem.status),
        "current": "problems",
    }
    context.update(extra)
    return context


@login_required
@require_http_methods(["GET", "POST"])
def problem_edit(request: HttpRequest, ref: str) -> HttpResponse:
    try:
        problem = problems.access_problem(request.user, ref)
    except TocsinError as exc:
        return error_page(request, exc)
    if request.method == "POST":
        form = ProblemForm(request.POST)
        if form.is_valid():
            try:
                problem = problems.problem_update(
                    problem=problem, actor=Actor.for_request(request), changes=form.values()
                )
            except Invalid as exc:
                _form_error(form, exc)
            except TocsinError as exc:
                form.add_error(None, sentence(exc.message))
            else:
                messages.success(request, f"{problem.ref} saved.")
                return redirect("problem", ref=problem.ref)
    else:
        form = ProblemForm(
            initial={
                "title": problem.title,
                "description": problem.description,
                "service": problem.service_id,
                "category": problem.category_id,
                "owner": problem.owner_id,
                "investigation": problem.investigation,
                "root_cause": problem.root_cause,
                "workaround": problem.workaround,
            }
        )
    status = 422 if form.is_bound and form.errors else 200
    context = {"form": form, "problem": problem, "current": "problems"}
    return render(request, "learning/problem_form.html", context, status=status)


# --- state buttons, links --------------------------------------------------------------------


class MoveForm(forms.Form):
    status = forms.ChoiceField(choices=ProblemStatus.choices)
    workaround = forms.CharField(required=False, max_length=problems.MARKDOWN_MAX)
    fix_change_ref = forms.CharField(required=False, max_length=problems.CHANGE_REF_MAX)


@login_required
@require_POST
def problem_move(request: HttpRequest, ref: str) -> HttpResponse:
    """Known error (with its workaround), resolved (with the change) or reopened."""
    try:
        problem = problems.access_problem(request.user, ref)
    except TocsinError as exc:
        return error_page(request, exc)
    form = MoveForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a status; the workaround and change reference must fit.")
        return redirect("problem", ref=problem.ref)
    data = form.cleaned_data
    changes: dict[str, Any] = {}
    if data["status"] == ProblemStatus.KNOWN_ERROR:
        changes["workaround"] = data["workaround"]
    if data["status"] == ProblemStatus.RESOLVED:
        changes["fix_change_ref"] = data["fix_change_ref"]
    try:
        problem = problems.problem_transition(
            problem=problem, actor=Actor.for_request(request), status=data["status"], **changes
        )
    except Invalid as exc:
        labels = {"workaround": "Workaround", "fix_change_ref": "Change reference"}
        messages.error(request, sentence(exc.detail, labels.get(exc.field, exc.field)))
    except TocsinError as exc:
        messages.error(request, sentence(exc.message))
    else:
        said = {
            ProblemStatus.KNOWN_ERROR: "is now a known error: triage offers its workaround",
            ProblemStatus.RESOLVED: f"is resolved by {problem.fix_change_ref}",
            ProblemStatus.OPEN: "is open again",
        }
        messages.success(request, f"{problem.ref} {said[ProblemStatus(problem.status)]}.")
    return redirect("problem", ref=problem.ref)


def _back(request: HttpRequest, problem: Problem, incident: Incident | None) -> HttpResponse:
    if request.POST.get("next") == "incident" and incident is not None:
        return redirect(reverse("incident", kwargs={"ref": incident.ref}) + "#problems")
    return redirect(reverse("problem", kwargs={"ref": problem.ref}) + "#incidents")


@login_required
@require_POST
def problem_link(request: HttpRequest, ref: str) -> HttpResponse:
    """Link an incident (the one-click "Link to PRB-n" of the incident page, or the
    problem page's form)."""
    try:
        problem = problems.access_problem(request.user, ref)
    except TocsinError as exc:
        return error_page(request, exc)
    incident = None
    try:
        incident = access_incident(request.user, request.POST.get("incident", "").strip())  # type: ignore[arg-type]
        linked = problems.problem_link(
            problem=problem, incident=incident, actor=Actor.for_request(request)
        )
    except TocsinError as exc:
        messages.error(request, sentence(exc.message))
    else:
        messages.success(
            request,
            f"{incident.ref} linked to {problem.ref}."
            if linked
            else f"{incident.ref} was already linked to {problem.ref}.",
        )
    return _back(request, problem, incident)


@login_required
@require_POST
def problem_unlink(request: HttpRequest, ref: str, incident_ref: str) -> HttpResponse:
    try:
        problem = problems.access_problem(request.user, ref)
        incident = access_incident(request.user, incident_ref)  # type: ignore[arg-type]
    except TocsinError as exc:
        return error_page(request, exc)
    try:
        problems.problem_unlink(
            problem=problem, incident=incident, actor=Actor.for_request(request)
        )
    except TocsinError as exc:
        messages.error(request, sentence(exc.message))
    else:
        messages.success(request, f"{incident.ref} unlinked from {problem.ref}.")
    return _back(request, problem, incident)


# --- trends ----------------------------------------------------------------------------------


def _int(value: str | None, default: int) -> int | None:
    if value is None or value == "":
        return default
    if not (value.isascii() and value.isdigit()) or len(value) > 6:
        return None
    return int(value)


@login_required
@require_GET
def trend_list(request: HttpRequest) -> HttpResponse:
    if not problems.may_view(request.user):
        return _not_found(request)
    threshold = _int(request.GET.get("threshold"), problems.TREND_THRESHOLD)
    days = _int(request.GET.get("days"), problems.TREND_DAYS)
    error = ""
    rows: list[problems.Trend] = []
    try:
        if threshold is None:
            raise Invalid("threshold", "must be a whole number from 2 to 1000")
        if days is None:
            raise Invalid("days", f"must be a whole number from 1 to {problems.TREND_DAYS_MAX}")
        rows = problems.trends(threshold=threshold, days=days)
    except Invalid as exc:
        labels = {"threshold": "At least", "days": "Days"}
        error = sentence(exc.detail, labels.get(exc.field, exc.field))
    context = {
        "trends": rows,
        "threshold": request.GET.get("threshold") or problems.TREND_THRESHOLD,
        "days": request.GET.get("days") or problems.TREND_DAYS,
        "good_days": days if days is not None and not error else problems.TREND_DAYS,
        "error": error,
        "current": "problems",
    }
    return render(request, "learning/problem_trends.html", context, status=422 if error else 200)


@login_required
@require_POST
def trend_raise(request: HttpRequest) -> HttpResponse:
    if not problems.may_edit(request.user):
        return _not_found(request)
    service = _pick(Service, request.POST.get("service"))
    category = _pick(Category, request.POST.get("category"))
    days = _int(request.POST.get("days"), problems.TREND_DAYS)
    if service is None or category is None or days is None:
        messages.error(request, "That trend is not there any more.")
        return redirect("problem-trends")
    try:
        problem = problems.problem_raise_from_trend(
            actor=Actor.for_request(request), service=service, category=category, days=days
        )
    except TocsinError as exc:
        messages.error(request, sentence(exc.message))
        return redirect("problem-trends")
    count = problem.links.count()
    messages.success(request, f"{problem.ref} raised, linking {count} incidents.")
    return redirect("problem", ref=problem.ref)


# --- the incident page's section -----------------------------------------------------------


def _matches(incident: Incident) -> list[dict[str, Any]]:
    return [
        {
            "problem": m.problem,
            "reason": m.reason_label,
            "workaround_html": markdown.render(m.problem.workaround),
            "root_cause": markdown.plain(m.problem.root_cause, limit=200),
        }
        for m in problems.known_errors_for(incident)
        if not m.linked
    ]


def problem_section(user: User | None, incident: Incident) -> PageSection | None:
    if user is None or not problems.may_view(user):
        return None
    context: dict[str, Any] = {
        "problem_links": SimpleLazyObject(lambda: problems.problems_of(incident)),
        "known_error_matches": SimpleLazyObject(lambda: _matches(incident)),
        "problem_may_edit": problems.may_edit(user),
    }
    return PageSection(template="learning/problem_section.html", context=context)
