"""The paging profile page: a person's contact methods (with delivery status and a test
button), notification rules per urgency and paging preferences (docs/paging-people.md).

`/me/paging/` is one's own; `/people/<username>/paging/` is anyone's for an administrator
(and one's own). Everyone else gets 404 (`accounts.selectors.contact_owner`). Every change
is a POST that redirects back; adding or removing a contact method asks for the password
of the person signed in again (a wrong one counts like a failed sign-in, throttled).

In `notify` rather than `accounts` because the test button queues a notify message and
apps import downwards only.
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from tocsin.accounts import selectors, services
from tocsin.accounts.models import ContactMethod, Urgency, User
from tocsin.accounts.permissions import Action, can, people_who_may
from tocsin.core.actors import Actor
from tocsin.core.errors import Invalid, NotFound, TocsinError
from tocsin.core.web import apply_error, error_page, sentence
from tocsin.notify import hooks
from tocsin.notify.paging_forms import (
    ContactAddForm,
    ContactRemoveForm,
    PreferencesForm,
    RuleRow,
    RulesForm,
)
from tocsin.notify.services import contact_method_test

URGENCIES = (Urgency.HIGH, Urgency.LOW)
_ROW_ERROR = re.compile(r"^(high|low)\[(\d+)\]")


def _page_url(request: HttpRequest, owner: User) -> str:
    if owner.pk == request.user.pk:
        return reverse("paging-mine")
    return reverse("paging-person", args=[owner.username])


def _delay_text(minutes: int) -> str:
    if minutes == 0:
        return "at once"
    return f"after {minutes} minute{'s' if minutes != 1 else ''}"


def _method_name(method: ContactMethod) -> str:
    name = method.get_kind_display()
    return f"{name} ({method.label})" if method.label else name


def _rules_context(
    owner: User, methods: list[ContactMethod], posted: RulesForm | None
) -> list[dict[str, Any]]:
    stored = set(selectors.stored_rules(owner).values_list("urgency", flat=True))
    out = []
    for urgency in URGENCIES:
        cycle = selectors.effective_rules(owner, urgency)
        if posted is not None and posted.urgency == urgency:
            rows = posted.rows
            form_errors = posted.errors
        else:
            rows = [RuleRow(method=str(r.method.pk), delay=str(r.delay_minutes)) for r in cycle]
            form_errors = []
        rows = [*rows, RuleRow()]  # one empty row to add a rule without JS
        out.append(
            {
                "urgency": str(urgency),
                "title": "High urgency" if urgency == Urgency.HIGH else "Low urgency",
                "priorities": "P1 and P2" if urgency == Urgency.HIGH else "P3 and P4",
                "defaults": urgency not in stored,
                "summary": ", ".join(
                    f"{_method_name(r.method)} {_delay_text(r.delay_minutes)}" for r in cycle
                ),
                "rows": rows,
                "errors": form_errors,
            }
        )
    return out


def _render(
    request: HttpRequest,
    owner: User,
    *,
    add_form: ContactAddForm | None = None,
    remove: tuple[int, ContactRemoveForm] | None = None,
    rules: RulesForm | None = None,
    prefs_form: PreferencesForm | None = None,
    status: int = 200,
) -> HttpResponse:
    methods = list(selectors.contact_methods(owner))
    context = {
        "owner": owner,
        "is_self": owner.pk == request.user.pk,
        "page_url": _page_url(request, owner),
        "problem": selectors.paging_problems([owner]).get(owner.pk),
        "methods": [
            {
                "method": m,
                "address": services.contact_address_masked(m),
                "remove_form": remove[1] if remove and remove[0] == m.pk else ContactRemoveForm(),
                "remove_open": bool(remove and remove[0] == m.pk),
            }
            for m in methods
        ],
        "add_form": add_form or ContactAddForm(),
        "rules": _rules_context(owner, methods, rules),
        "choices": [(str(m.pk), _method_name(m)) for m in methods],
        "prefs_form": prefs_form
        or PreferencesForm(
            initial={
                "handoff_notice_minutes": owner.handoff_notice_minutes,
                "low_urgency_working_hours": owner.low_urgency_working_hours,
            }
        ),
    }
    # sections other apps add (e.g. the person's overdue action items)
    viewer = request.user if isinstance(request.user, User) else None
    sections = hooks.person_sections(viewer, owner)
    for section in sections:
        context.update(section.context)
    context["person_sections"] = sections
    response = render(request, "notify/paging.html", context, status=status)
    response["Cache-Control"] = "no-store"
    return response


def _owner(request: HttpRequest, username: str) -> User | HttpResponse:
    try:
        return selectors.contact_owner(request.user, username)
    except TocsinError as exc:
        return error_page(request, exc)


def _password_ok(request: HttpRequest, form: Any) -> bool:
    """Is the password in the form that of the person signed in? A wrong one counts like
    a failed sign-in (per username and address), so it cannot be guessed here faster."""
    user: User = request.user  # type: ignore[assignment]
    actor = Actor.for_request(request)
    refusal = services.signin_refusal(username=user.username, ip=actor.ip)
    if refusal is not None:
        form.add_error("password", refusal.message)
        return False
    if user.check_password(form.cleaned_data.get("password") or ""):
        return True
    refusal = services.signin_failed(username=user.username, actor=actor)
    form.add_error("password", refusal.message if refusal else "That is not your password.")
    return False


@login_required
@require_GET
def paging_mine(request: HttpRequest) -> HttpResponse:
    owner = _owner(request, request.user.get_username())
    if isinstance(owner, HttpResponse):
        return owner
    return _render(request, owner)


@login_required
@require_GET
def paging_person(request: HttpRequest, username: str) -> HttpResponse:
    owner = _owner(request, username)
    if isinstance(owner, HttpResponse):
        return owner
    return _render(request, owner)


@login_required
@require_POST
def contact_add(request: HttpRequest, username: str) -> HttpResponse:
    owner = _owner(request, username)
    if isinstance(owner, HttpResponse):
        return owner
    form = ContactAddForm(request.POST)
    if form.is_valid() and _password_ok(request, form):
        try:
            method = services.contact_method_add(
                user=owner,
                kind=form.cleaned_data["kind"],
                address=form.cleaned_data["address"],
                label=form.cleaned_data["label"],
                actor=Actor.for_request(request),
            )
        except Invalid as exc:
            apply_error(form, exc)
        else:
            messages.success(
                request, f"{_method_name(method)} added. Send it a test to see that it works."
            )
            return redirect(_page_url(request, owner))
    return _render(request, owner, add_form=form, status=422)


def _method(request: HttpRequest, owner: User, method_id: int) -> ContactMethod | HttpResponse:
    try:
        return selectors.contact_method_get(owner, method_id)
    except TocsinError as exc:
        return error_page(request, exc)


@login_required
@require_POST
def contact_remove(request: HttpRequest, username: str, method_id: int) -> HttpResponse:
    owner = _owner(request, username)
    if isinstance(owner, HttpResponse):
        return owner
    method = _method(request, owner, method_id)
    if isinstance(method, HttpResponse):
        return method
    form = ContactRemoveForm(request.POST)
    if form.is_valid() and _password_ok(request, form):
        services.contact_method_remove(method=method, actor=Actor.for_request(request))
        messages.success(request, f"{_method_name(method)} removed.")
        return redirect(_page_url(request, owner))
    return _render(request, owner, remove=(method.pk, form), status=422)


@login_required
@require_POST
def contact_test(request: HttpRequest, username: str, method_id: int) -> HttpResponse:
    owner = _owner(request, username)
    if isinstance(owner, HttpResponse):
        return owner
    method = _method(request, owner, method_id)
    if isinstance(method, HttpResponse):
        return method
    try:
        contact_method_test(method=method, actor=Actor.for_request(request))
    except TocsinError as exc:
        return error_page(request, exc)
    messages.success(
        request,
        f"Test message queued to {_method_name(method)}. Its outcome shows here once it is "
        "sent (reload the page).",
    )
    return redirect(_page_url(request, owner))


@login_required
@require_POST
def rules_save(request: HttpRequest, username: str) -> HttpResponse:
    owner = _owner(request, username)
    if isinstance(owner, HttpResponse):
        return owner
    urgency = request.POST.get("urgency", "")
    if urgency not in Urgency.values:
        return error_page(request, Invalid("urgency", "Urgency must be high or low."))
    methods = list(selectors.contact_methods(owner))
    if request.POST.get("use_defaults"):
        form = RulesForm(urgency=urgency)
    else:
        form = RulesForm.from_post(urgency, request.POST, methods)
    if form.is_valid():
        try:
            services.notification_rules_set(
                user=owner, rules={urgency: form.items}, actor=Actor.for_request(request)
            )
        except Invalid as exc:
            found = _ROW_ERROR.match(exc.field)
            message = sentence(exc.detail)
            if found:
                form.row_error(int(found.group(2)), message)
            else:
                form.errors.append(message)
        else:
            title = "High-urgency" if urgency == Urgency.HIGH else "Low-urgency"
            if form.items:
                messages.success(request, f"{title} rules saved.")
            else:
                messages.success(request, f"{title} rules: you get the defaults.")
            return redirect(_page_url(request, owner))
    return _render(request, owner, rules=form, status=422)


@login_required
@require_POST
def preferences_save(request: HttpRequest, username: str) -> HttpResponse:
    owner = _owner(request, username)
    if isinstance(owner, HttpResponse):
        return owner
    form = PreferencesForm(request.POST)
    if form.is_valid():
        try:
            services.paging_preferences_set(
                user=owner,
                handoff_notice_minutes=form.cleaned_data["handoff_notice_minutes"],
                low_urgency_working_hours=form.cleaned_data["low_urgency_working_hours"],
                actor=Actor.for_request(request),
            )
        except Invalid as exc:
            apply_error(form, exc)
        else:
            messages.success(request, "Paging preferences saved.")
            return redirect(_page_url(request, owner))
    return _render(request, owner, prefs_form=form, status=422)


@login_required
@require_GET
def people_list(request: HttpRequest) -> HttpResponse:
    """`/people/`: the people who can be paged (staff), each flagged when they cannot be
    paged at high urgency (`accounts.selectors.paging_problems`), with a link to their
    paging page for whoever may manage it (themself; administrators: everyone)."""
    viewer = request.user
    if not can(viewer, Action.PEOPLE_VIEW):
        return error_page(request, NotFound("no such page"))
    people = list(
        people_who_may(Action.INCIDENT_BE_ASSIGNED)
        .annotate(
            methods=Count("contact_methods", filter=Q(contact_methods__disabled_at__isnull=True))
        )
        .order_by("username")
    )
    problems = selectors.paging_problems(people)
    rows = [
        {
            "person": p,
            "problem": problems.get(p.pk),
            "manage": can(viewer, Action.CONTACT_MANAGE, p),
        }
        for p in people
    ]
    flagged = sum(1 for r in rows if r["problem"])
    return render(request, "notify/people.html", {"rows": rows, "flagged": flagged})
