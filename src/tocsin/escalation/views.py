"""The escalation policy pages (routes in ui_urls.py): the list, one policy, the editor
(create and edit: levels in order, each with its delay, mode and targets, every target
shown with who it names now), archive, and the service page's part that picks a
service's policy.

Thin: `forms.PolicyEditor` reads the form, `policies` checks and writes (the API's own
functions), `selectors` read and gate. Whoever may not see policies (reporters) gets
404 on every page here; a person who may see a policy but not change it gets 404 on its
edit and archive pages too, the same answer as for a policy that does not exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms as django_forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tocsin.accounts.permissions import Action, can
from tocsin.catalog.models import Service
from tocsin.catalog.selectors import service_get
from tocsin.catalog.views import service_page_context
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.core.errors import Conflict, Forbidden, Invalid, NotFound, TocsinError
from tocsin.core.web import error_page, sentence
from tocsin.escalation import policies, selectors
from tocsin.escalation.forms import PolicyEditor, TargetRow
from tocsin.escalation.models import LEVELS_MAX, TARGETS_MAX, EscalationPolicy, LevelMode

# --- access -----------------------------------------------------------------------------


def _not_found(request: HttpRequest, what: str = "no such page") -> HttpResponse:
    return error_page(request, NotFound(what))


def _policy(request: HttpRequest, policy_id: int) -> EscalationPolicy | HttpResponse:
    try:
        return selectors.policy_get(policy_id, user=request.user)
    except TocsinError as exc:
        return error_page(request, exc)


def _editable(request: HttpRequest, policy_id: int) -> EscalationPolicy | HttpResponse:
    policy = _policy(request, policy_id)
    if isinstance(policy, EscalationPolicy) and not can(request.user, Action.POLICY_EDIT, policy):
        return _not_found(request, f"no escalation policy with id {policy_id}")
    return policy


# --- list and detail ----------------------------------------------------------------------


@login_required
@require_GET
def policy_list(request: HttpRequest) -> HttpResponse:
    if not selectors.may_view(request.user):
        return _not_found(request)
    at = now()
    rows = list(selectors.policy_list(user=request.user))
    views = {p.pk: selectors.policy_view(p, at) for p in rows}
    return render(
        request,
        "escalation/policies.html",
        {
            "rows": [{"policy": p, "view": views[p.pk]} for p in rows],
            "can_create": can(request.user, Action.POLICY_CREATE),
        },
    )


@login_required
@require_GET
def policy_detail(request: HttpRequest, policy_id: int) -> HttpResponse:
    policy = _policy(request, policy_id)
    if isinstance(policy, HttpResponse):
        return policy
    view = selectors.policy_view(policy, now())
    return render(
        request,
        "escalation/policy.html",
        {
            "policy": policy,
            "view": view,
            "can_edit": policy.archived_at is None
            and can(request.user, Action.POLICY_EDIT, policy),
            "total_minutes": sum(level.delay_minutes for level in view.levels),
        },
    )


# --- the editor ---------------------------------------------------------------------------

_STRUCTURAL = frozenset({"add-level", "remove-level", "up", "down", "add-target", "remove-target"})


def _restructure(editor: PolicyEditor, action: str) -> bool:
    """Apply an add/remove/move button to the submitted levels; False if `action` is not
    one of them."""
    verb, _, rest = action.partition(":")
    if verb not in _STRUCTURAL:
        return False
    levels = editor.raw_levels()
    parts = [int(p) for p in rest.split(":") if p.isascii() and p.isdigit() and len(p) < 6]
    i = parts[0] if parts else -1
    inside = 0 <= i < len(levels)
    if verb == "add-level" and len(levels) < LEVELS_MAX:
        delay = levels[-1][0].get("delay_minutes") if levels else 15
        levels.append(({"delay_minutes": delay or 15, "mode": LevelMode.ALL}, [""]))
    elif verb == "remove-level" and inside:
        levels.pop(i)
    elif verb == "up" and inside and i > 0:
        levels[i - 1], levels[i] = levels[i], levels[i - 1]
    elif verb == "down" and inside and i < len(levels) - 1:
        levels[i + 1], levels[i] = levels[i], levels[i + 1]
    elif verb == "add-target" and inside and len(levels[i][1]) < TARGETS_MAX:
        levels[i][1].append("")
    elif verb == "remove-target" and inside and len(parts) == 2 and parts[1] < len(levels[i][1]):
        levels[i][1].pop(parts[1])
    editor.rebuild(levels)
    editor.rebind_policy_form()
    return True


def _saved_levels(policy: EscalationPolicy) -> list[tuple[dict[str, Any], list[str]]]:
    view = selectors.policy_view(policy, now())
    return [
        (
            {"delay_minutes": level.delay_minutes, "mode": level.mode},
            [t.key for t in level.targets],
        )
        for level in view.levels
    ]


def _annotate(editor: PolicyEditor) -> list[selectors.Warning]:
    """Each target row's label and who it names now; the warnings of the targets chosen."""
    rows: list[TargetRow] = [row for block in editor.blocks for row in block.targets]
    found = selectors.target_objects([row.value for row in rows if row.value])
    chosen = [(row, found.get(row.value)) for row in rows]
    refs = [(row.value.partition(":")[0], obj) for row, obj in chosen if obj is not None]
    views, warnings = selectors.describe_targets(refs, now())
    by_key = {v.key: v for v in views}
    for row, obj in chosen:
        view = by_key.get(row.value) if obj is not None else None
        if view is not None:
            row.label = view.name
            row.now = view.now_text
            row.problem = view.problem
    return warnings


def _render(
    request: HttpRequest,
    editor: PolicyEditor,
    *,
    policy: EscalationPolicy | None,
    status: int = 200,
) -> HttpResponse:
    warnings = _annotate(editor)
    choices = selectors.target_choices(now())
    known = {c.key for group in choices.values() for c in group}
    return render(
        request,
        "escalation/editor.html",
        {
            "editor": editor,
            "policy": policy,
            "choices": choices,
            "known": known,
            "warnings": warnings,
            "mode_all": LevelMode.ALL,
            "levels_max": LEVELS_MAX,
            "targets_max": TARGETS_MAX,
        },
        status=status,
    )


def _save(
    request: HttpRequest, editor: PolicyEditor, policy: EscalationPolicy | None
) -> EscalationPolicy | None:
    if not editor.shape_ok():
        return None
    form = editor.policy_form
    data = form.cleaned_data
    team = form.team_object()
    if not selectors.may_own(request.user, team):
        form.add_error("team", "Choose one of the teams you manage.")
        return None
    actor = Actor.for_request(request)
    try:
        if policy is None:
            return policies.policy_create(
                actor=actor,
                name=data["name"],
                description=data["description"],
                repeat=data["repeat"],
                team=team,
                levels=editor.levels_json(),
            )
        changes = {
            "name": data["name"],
            "description": data["description"],
            "repeat": data["repeat"],
            "levels": editor.levels_json(),
        }
        if team != policy.team:
            changes["team"] = team
        return policies.policy_update(policy=policy, actor=actor, changes=changes)
    except Invalid as exc:
        editor.apply_invalid(exc)
    except (Conflict, Forbidden) as exc:
        editor.general.append(sentence(exc.message))
    return None


def _post(request: HttpRequest, policy: EscalationPolicy | None) -> HttpResponse:
    editor = PolicyEditor(user=request.user, data=request.POST, policy=policy)
    action = str(request.POST.get("action") or "save")
    if action != "save":
        if _restructure(editor, action):
            return _render(request, editor, policy=policy)
        return error_page(request, Invalid("action", f"no button {action[:40]!r} on this form"))
    saved = _save(request, editor, policy)
    if saved is None:
        return _render(request, editor, policy=policy, status=422)
    messages.success(
        request, f"Escalation policy “{saved.name}” {'saved' if policy else 'created'}."
    )
    return redirect("escalation-policy", policy_id=saved.pk)


@login_required
@require_http_methods(["GET", "POST"])
def policy_new(request: HttpRequest) -> HttpResponse:
    if not can(request.user, Action.POLICY_CREATE):
        return _not_found(request)
    if request.method == "POST":
        return _post(request, None)
    return _render(request, PolicyEditor(user=request.user), policy=None)


@login_required
@require_http_methods(["GET", "POST"])
def policy_edit(request: HttpRequest, policy_id: int) -> HttpResponse:
    policy = _editable(request, policy_id)
    if isinstance(policy, HttpResponse):
        return policy
    if policy.archived_at is not None:
        return error_page(
            request, Conflict("this escalation policy is archived; archived policies do not change")
        )
    if request.method == "POST":
        return _post(request, policy)
    editor = PolicyEditor(user=request.user, policy=policy, levels=_saved_levels(policy))
    return _render(request, editor, policy=policy)


@login_required
@require_http_methods(["GET", "POST"])
def policy_archive(request: HttpRequest, policy_id: int) -> HttpResponse:
    """GET: the confirmation; POST: archive (refused while a service uses it)."""
    policy = _editable(request, policy_id)
    if isinstance(policy, HttpResponse):
        return policy
    services = selectors.services_using(policy)
    if request.method == "POST":
        try:
            policies.policy_archive(policy=policy, actor=Actor.for_request(request))
        except Conflict as exc:
            return render(
                request,
                "escalation/archive.html",
                {"policy": policy, "services": services, "refused": sentence(exc.message)},
                status=409,
            )
        except TocsinError as exc:
            return error_page(request, exc)
        messages.success(request, f"Escalation policy “{policy.name}” archived.")
        return redirect("escalation-policy", policy_id=policy.pk)
    return render(request, "escalation/archive.html", {"policy": policy, "services": services})


# --- the service page's part ----------------------------------------------------------------


class ServicePolicyForm(django_forms.Form):
    escalation_policy = django_forms.ChoiceField(label="Escalation policy", required=False)

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        field = self.fields["escalation_policy"]
        assert isinstance(field, django_forms.ChoiceField)
        field.choices = [("", "None: page nobody")] + [
            (str(p.pk), p.name) for p in selectors.live_policies()
        ]


def service_page_paging(
    request: HttpRequest, service: Service, bound: Mapping[str, django_forms.Form]
) -> dict[str, Any]:
    """What the service page's paging part shows: the policy and, for managers and
    administrators, the form that changes it."""
    if not selectors.may_view(request.user):
        return {"paging": None}
    row = selectors.service_paging_of([service]).get(service.pk)
    policy = row.policy if row is not None else None
    form = None
    if can(request.user, Action.SERVICE_PAGING, service):
        form = bound.get("paging") or ServicePolicyForm(
            initial={"escalation_policy": str(policy.pk) if policy else ""}
        )
    view = selectors.policy_view(policy, now()) if policy is not None else None
    return {
        "paging": {
            "policy": policy,
            "view": view,
            "priorities": row.high_urgency_priorities if row is not None else [1, 2],
        },
        "paging_form": form,
    }


@login_required
@require_POST
def service_policy(request: HttpRequest, service_id: int) -> HttpResponse:
    try:
        service = service_get(service_id)
    except TocsinError as exc:
        return error_page(request, exc)
    if not selectors.may_view(request.user):
        return _not_found(request)
    if not can(request.user, Action.SERVICE_PAGING, service):
        return error_page(request, Forbidden("your role may not change how a service pages"))
    form = ServicePolicyForm(request.POST)
    if form.is_valid():
        chosen = form.cleaned_data["escalation_policy"]
        try:
            policy = selectors.policy_for_service_field(
                int(chosen) if chosen else None, user=request.user
            )
            policies.service_paging_set(
                service=service, actor=Actor.for_request(request), policy=policy
            )
        except Invalid as exc:
            form.add_error("escalation_policy", sentence(exc.detail))
        except TocsinError as exc:
            return error_page(request, exc)
        else:
            messages.success(
                request,
                f"{service.name} now pages through “{policy.name}”."
                if policy
                else f"{service.name} now pages nobody.",
            )
            return redirect(reverse("service", args=[service.pk]) + "#h-paging")
    context = service_page_context(request, service, {"paging": form})
    return render(request, "catalog/service.html", context, status=422)


# --- registration (escalation.wiring.register) -----------------------------------------------


def register_catalog() -> None:
    """The escalation app's parts of the catalog: the service page's paging card and the
    service API's `escalation_policy` and `high_urgency_priorities` fields."""
    from tocsin.catalog import hooks
    from tocsin.escalation import api

    hooks.add_service_page_part(
        hooks.ServicePagePart("side_bottom", "escalation/_service_paging.html", service_page_paging)
    )
    hooks.add_service_field(
        "escalation_policy",
        api.apply_service_policy,
        api.read_service_policy,
        schema_in=api.PolicyField,
        schema_out=api.ServicePolicyOut | None,
    )
    hooks.add_service_field(
        "high_urgency_priorities",
        api.apply_service_priorities,
        api.read_service_priorities,
        schema_in=api.Priorities,
        schema_out=list[int] | None,
    )
