"""Postmortems on the web: the list (/postmortems/), a postmortem's page (rendered view,
state buttons, comments), its edit form, its Markdown export and print-ready page, the
incident page's "Postmortem" section, and the settings for administrators.

Anyone who may not see postmortems (reporters) gets 404 on every one of these pages.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_http_methods, require_POST

from tocsin.accounts.models import User
from tocsin.accounts.permissions import Action, can
from tocsin.catalog.models import Service
from tocsin.core.actors import Actor
from tocsin.core.errors import Invalid, NotFound, TocsinError
from tocsin.core.web import apply_error, error_page, sentence
from tocsin.incidents.hooks import PageSection
from tocsin.incidents.models import Incident
from tocsin.incidents.selectors import access_incident
from tocsin.learning import postmortems
from tocsin.learning.markdown import render as render_markdown
from tocsin.learning.models import (
    Postmortem,
    PostmortemStatus,
    PostmortemTemplate,
    ServicePostmortemRule,
)
from tocsin.learning.postmortem_draft import PLACEHOLDERS
from tocsin.learning.postmortem_forms import (
    CommentForm,
    FilterForm,
    PostmortemForm,
    ServiceRuleForm,
    SettingsForm,
    TemplateForm,
)
from tocsin.learning.postmortem_selectors import (
    access_postmortem,
    comments_of,
    is_overdue,
    postmortem_list_for,
    postmortem_of,
    require_postmortems,
)

_HEADING = re.compile(r"<(/?)h([1-5])>")

MOVE_LABELS = {
    PostmortemStatus.IN_REVIEW: "Send for review",
    PostmortemStatus.DRAFT: "Back to draft",
    PostmortemStatus.PUBLISHED: "Publish",
}
PAGE_SIZE = 50


# --- the incident page's section ------------------------------------------------------------


def postmortem_section(user: User | None, incident: Incident) -> PageSection | None:
    if user is None or not can(user, Action.POSTMORTEM_VIEW):
        return None
    found = postmortem_of(incident)
    return PageSection(
        template="learning/postmortem_section.html",
        context={
            "pm": found,
            "pm_overdue": found is not None and is_overdue(found),
            "pm_may_create": found is None and can(user, Action.POSTMORTEM_EDIT),
        },
    )


# --- helpers ---------------------------------------------------------------------------------


def _gate(request: HttpRequest, postmortem_id: int) -> Postmortem:
    return access_postmortem(request.user, postmortem_id)  # type: ignore[arg-type]


def _guarded(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed in; a domain error becomes its page (404 for what one may not see)."""

    @login_required
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except TocsinError as exc:
            return error_page(request, exc)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


def _demoted(html: SafeString) -> SafeString:
    """The document's headings one level down (the page's own title is its h1); the
    HTML is nh3's output, whose headings carry no attributes."""
    return mark_safe(_HEADING.sub(lambda m: f"<{m[1]}h{int(m[2]) + 1}>", html))  # noqa: S308


def _moves(postmortem: Postmortem, user: Any) -> list[tuple[str, str]]:
    out = []
    for to in postmortems.allowed_moves(postmortem):
        need = (
            Action.POSTMORTEM_PUBLISH
            if to == PostmortemStatus.PUBLISHED
            else Action.POSTMORTEM_EDIT
        )
        if can(user, need):
            out.append((to, MOVE_LABELS[PostmortemStatus(to)]))
    return out


# --- the list --------------------------------------------------------------------------------


@_guarded
@require_http_methods(["GET"])
def postmortem_list(request: HttpRequest) -> HttpResponse:
    """Every postmortem, newest first, overdue ones flagged; filters."""
    require_postmortems(request.user)  # type: ignore[arg-type]
    form = FilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    owner = data.get("owner") or None
    if owner == "me":
        owner = request.user.username
    overdue = {"yes": True, "no": False}.get(data.get("overdue") or "")
    found = postmortem_list_for(
        request.user,  # type: ignore[arg-type]
        status=data.get("status") or None,
        owner=owner,
        overdue=overdue,
    )
    try:
        offset = max(0, int(request.GET.get("offset", "0")))
    except ValueError:
        offset = 0
    total = found.count()
    rows = [{"pm": p, "overdue": is_overdue(p)} for p in found[offset : offset + PAGE_SIZE]]
    context = {
        "form": form,
        "rows": rows,
        "total": total,
        "filtered": any(data.values()) if data else False,
        "next_offset": offset + PAGE_SIZE if offset + PAGE_SIZE < total else None,
        "prev_offset": max(0, offset - PAGE_SIZE) if offset else None,
    }
    return render(request, "learning/postmortem_list.html", context)


@_guarded
@require_POST
def postmortem_new(request: HttpRequest) -> HttpResponse:
    """Draft a postmortem by hand (the incident page's button)."""
    require_postmortems(request.user)  # type: ignore[arg-type]
    incident = access_incident(request.user, request.POST.get("incident", ""))  # type: ignore[arg-type]
    template = None
    chosen = request.POST.get("template", "")
    if _digits(chosen):
        template = PostmortemTemplate.objects.filter(pk=int(chosen)).first()
    try:
        made = postmortems.postmortem_create(
            incident=incident, actor=Actor.for_request(request), template=template
        )
    except TocsinError as exc:
        messages.error(request, sentence(exc.message))
        return redirect("incident", ref=incident.ref)
    messages.success(request, f"Postmortem drafted for {incident.ref}.")
    return redirect("postmortem", postmortem_id=made.pk)


# --- one postmortem ---------------------------------------------------------------------------


def _page(
    request: HttpRequest, postmortem: Postmortem, comment_form: CommentForm | None = None
) -> HttpResponse:
    user = request.user
    context = {
        "pm": postmortem,
        "incident": postmortem.incident,
        "html": _demoted(render_markdown(postmortem.markdown)),
        "overdue": is_overdue(postmortem),
        "moves": _moves(postmortem, user),
        "may_edit": postmortem.status != PostmortemStatus.PUBLISHED
        and can(user, Action.POSTMORTEM_EDIT),
        "comments": [
            {"comment": c, "html": render_markdown(c.body)} for c in comments_of(postmortem)
        ],
        "comment_form": comment_form or CommentForm(),
        "action_items": list(postmortem.action_items.all()),
    }
    status = 422 if comment_form is not None and comment_form.errors else 200
    return render(request, "learning/postmortem_detail.html", context, status=status)


@_guarded
@require_http_methods(["GET"])
def postmortem_detail(request: HttpRequest, postmortem_id: int) -> HttpResponse:
    return _page(request, _gate(request, postmortem_id))


@_guarded
@require_http_methods(["GET", "POST"])
def postmortem_edit(request: HttpRequest, postmortem_id: int) -> HttpResponse:
    postmortem = _gate(request, postmortem_id)
    if postmortem.status == PostmortemStatus.PUBLISHED:
        messages.error(request, "This postmortem is published; it can no longer be changed.")
        return redirect("postmortem", postmortem_id=postmortem.pk)
    if request.method == "POST":
        form = PostmortemForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                postmortems.postmortem_edit(
                    postmortem=postmortem,
                    actor=Actor.for_request(request),
                    title=data["title"],
                    markdown=data["markdown"],
                    owner=data["owner"],
                    due_at=data["due_at"],
                )
            except Invalid as exc:
                apply_error(form, exc)
            except TocsinError as exc:
                messages.error(request, sentence(exc.message))
                return redirect("postmortem", postmortem_id=postmortem.pk)
            else:
                messages.success(request, "Postmortem saved.")
                return redirect("postmortem", postmortem_id=postmortem.pk)
    else:
        form = PostmortemForm(
            initial={
                "title": postmortem.title,
                "owner": postmortem.owner,
                "due_at": postmortem.due_at,
                "markdown": postmortem.markdown,
            }
        )
    status = 422 if form.is_bound and form.errors else 200
    context = {"pm": postmortem, "incident": postmortem.incident, "form": form}
    return render(request, "learning/postmortem_edit.html", context, status=status)


@_guarded
@require_POST
def postmortem_move(request: HttpRequest, postmortem_id: int) -> HttpResponse:
    postmortem = _gate(request, postmortem_id)
    to = request.POST.get("to", "")
    try:
        moved = postmortems.postmortem_transition(
            postmortem=postmortem, actor=Actor.for_request(request), to=to
        )
    except TocsinError as exc:
        messages.error(request, sentence(exc.message))
    else:
        messages.success(request, f"Postmortem {moved.get_status_display().lower()}.")
    return redirect("postmortem", postmortem_id=postmortem.pk)


@_guarded
@require_POST
def postmortem_comment(request: HttpRequest, postmortem_id: int) -> HttpResponse:
    postmortem = _gate(request, postmortem_id)
    form = CommentForm(request.POST)
    if form.is_valid():
        try:
            postmortems.postmortem_comment_add(
                postmortem=postmortem,
                actor=Actor.for_request(request),
                body=form.cleaned_data["body"],
            )
        except Invalid as exc:
            apply_error(form, exc)
        else:
            messages.success(request, "Comment added.")
            return redirect(f"/postmortems/{postmortem.pk}/#comments")
    return _page(request, postmortem, form)


@_guarded
@require_http_methods(["GET"])
def postmortem_export(request: HttpRequest, postmortem_id: int) -> HttpResponse:
    """The document as a Markdown file."""
    postmortem = _gate(request, postmortem_id)
    response = HttpResponse(postmortem.markdown, content_type="text/markdown; charset=utf-8")
    name = f"postmortem-{postmortem.incident.ref.lower()}.md"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@_guarded
@require_http_methods(["GET"])
def postmortem_print(request: HttpRequest, postmortem_id: int) -> HttpResponse:
    """The document alone, laid out for paper (print CSS in app.css)."""
    postmortem = _gate(request, postmortem_id)
    context = {
        "pm": postmortem,
        "incident": postmortem.incident,
        "html": render_markdown(postmortem.markdown),
        "action_items": list(postmortem.action_items.all()),
    }
    return render(request, "learning/postmortem_print.html", context)


# --- settings ---------------------------------------------------------------------------------


def _configure(request: HttpRequest) -> None:
    if not can(request.user, Action.POSTMORTEM_CONFIGURE):
        raise NotFound("not found")


@_guarded
@require_http_methods(["GET", "POST"])
def settings_page(request: HttpRequest) -> HttpResponse:
    """When a postmortem is required (priorities, per service), the due days, the default
    template; the templates."""
    _configure(request)
    row = postmortems.postmortem_settings()
    actor = Actor.for_request(request)
    form = SettingsForm(
        initial={
            "required_priorities": [str(p) for p in row.required_priorities],
            "due_days": row.due_days,
            "default_template": row.default_template,
        }
    )
    rule_form = ServiceRuleForm(prefix="rule")
    status = 200
    if request.method == "POST":
        what = request.POST.get("form", "settings")
        try:
            if what == "settings":
                form = SettingsForm(request.POST)
                if form.is_valid():
                    data = form.cleaned_data
                    postmortems.postmortem_settings_set(
                        actor=actor,
                        required_priorities=[int(p) for p in data["required_priorities"]],
                        due_days=data["due_days"],
                        default_template=data["default_template"],
                    )
                    messages.success(request, "Postmortem settings saved.")
                    return redirect("settings-postmortems")
            elif what == "rule":
                rule_form = ServiceRuleForm(request.POST, prefix="rule")
                if rule_form.is_valid():
                    data = rule_form.cleaned_data
                    postmortems.service_rule_set(
                        actor=actor,
                        service=data["service"],
                        required_priorities=[int(p) for p in data["required_priorities"]],
                    )
                    messages.success(request, f"Rule for {data['service'].name} saved.")
                    return redirect("settings-postmortems")
            elif what == "remove":
                chosen = request.POST.get("service", "")
                service = (
                    Service.objects.filter(pk=int(chosen)).first() if _digits(chosen) else None
                )
                if service is None:
                    raise NotFound("no such service")
                postmortems.service_rule_remove(actor=actor, service=service)
                messages.success(request, f"{service.name} follows the settings again.")
                return redirect("settings-postmortems")
        except Invalid as exc:
            apply_error(rule_form if what == "rule" else form, exc)
        status = 422
    context = {
        "form": form,
        "rule_form": rule_form,
        "rules": ServicePostmortemRule.objects.select_related("service").order_by("service__name"),
        "templates": PostmortemTemplate.objects.all(),
    }
    return render(request, "learning/postmortem_settings.html", context, status=status)


@_guarded
@require_http_methods(["GET", "POST"])
def template_page(request: HttpRequest, template_id: int | None = None) -> HttpResponse:
    """Edit a template, or write a new one."""
    _configure(request)
    template = None
    if template_id is not None:
        template = PostmortemTemplate.objects.filter(pk=template_id).first()
        if template is None:
            raise NotFound("no such template")
    if request.method == "POST":
        form = TemplateForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            actor = Actor.for_request(request)
            try:
                if template is None:
                    postmortems.template_create(actor=actor, name=data["name"], body=data["body"])
                else:
                    postmortems.template_edit(
                        actor=actor,
                        template=template,
                        name=data["name"],
                        body=data["body"],
                        archived=data["archived"],
                    )
            except Invalid as exc:
                apply_error(form, exc)
            else:
                messages.success(request, f"Template {data['name']} saved.")
                return redirect("settings-postmortems")
    elif template is not None:
        form = TemplateForm(
            initial={
                "name": template.name,
                "body": template.body,
                "archived": template.archived_at is not None,
            }
        )
    else:
        form = TemplateForm()
    status = 422 if form.is_bound and form.errors else 200
    context = {"form": form, "template": template, "placeholders": PLACEHOLDERS}
    return render(request, "learning/postmortem_template.html", context, status=status)


def _digits(value: str) -> bool:
    """An id as people type it: ASCII digits, not too many for the database ("²" and
    "٣" are digits to Python but not to int() or the database)."""
    return value.isascii() and value.isdigit() and len(value) <= 18
