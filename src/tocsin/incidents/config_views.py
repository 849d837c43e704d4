"""Settings pages for administrators: the priority matrix as a grid and the SLA targets as
durations. Thin views: each save goes through the matrix and SLA services (their checks,
and one audit entry per changed cell or target, under the administrator's name)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from tocsin.accounts.permissions import Action, can
from tocsin.core.actors import Actor
from tocsin.core.errors import TocsinError
from tocsin.incidents.config_forms import (
    PriorityMatrixForm,
    SlaTargetsForm,
    cell_name,
    format_duration,
)
from tocsin.incidents.models import Level, Priority, SlaTarget
from tocsin.incidents.priority import matrix, priority_matrix_set_many
from tocsin.incidents.sla import DEFAULT_TARGETS, sla_targets_set_many

FOR_ADMINISTRATORS = "The settings are for administrators."


def _refused(request: HttpRequest) -> HttpResponse | None:
    """The audit log's convention: signed in without the right, a 403 page that says why."""
    if can(request.user, Action.CONFIG_MANAGE):
        return None
    return render(request, "403.html", {"message": FOR_ADMINISTRATORS}, status=403)


@login_required
@require_http_methods(["GET"])
def settings_index(request: HttpRequest) -> HttpResponse:
    if refused := _refused(request):
        return refused
    targets = [
        {
            "priority": t.priority,
            "response": format_duration(t.response_minutes),
            "resolution": format_duration(t.resolution_minutes),
            "clock": f"business hours ({t.calendar.name})" if t.calendar else "24×7",
        }
        for _, t in sorted(_targets().items())
    ]
    context = {"matrix_rows": _matrix_rows(), "urgencies": Level.choices, "targets": targets}
    return render(request, "incidents/settings_index.html", context)


def _matrix_rows() -> list[dict[str, object]]:
    grid = matrix()
    return [
        {"label": label, "cells": [grid[urgency][impact] for urgency in Level.values]}
        for impact, label in Level.choices
    ]


@login_required
@require_http_methods(["GET", "POST"])
def priority_matrix_page(request: HttpRequest) -> HttpResponse:
    if refused := _refused(request):
        return refused
    form = PriorityMatrixForm(request.POST or None, matrix=matrix())
    status = 200
    if request.method == "POST":
        if form.is_valid():
            changes = form.changes()
            actor = Actor.for_request(request)
            try:
                priority_matrix_set_many(changes=changes, actor=actor)
            except TocsinError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(
                    request,
                    f"Priority matrix saved: {len(changes)} cell{'s' if len(changes) != 1 else ''}"
                    " changed."
                    if changes
                    else "Priority matrix unchanged.",
                )
                return redirect("settings-matrix")
        status = 422
    return render(
        request,
        "incidents/settings_matrix.html",
        {"form": form, "urgencies": Level.choices, "cell_name": cell_name},
        status=status,
    )


def _targets() -> dict[int, SlaTarget]:
    """The target in force for each priority (the built-in one where none is stored)."""
    stored = {t.priority: t for t in SlaTarget.objects.select_related("calendar")}
    for priority in Priority.values:
        if priority not in stored:
            response, resolution = DEFAULT_TARGETS[priority]
            stored[priority] = SlaTarget(
                priority=priority, response_minutes=response, resolution_minutes=resolution
            )
    return stored


@login_required
@require_http_methods(["GET", "POST"])
def sla_targets_page(request: HttpRequest) -> HttpResponse:
    if refused := _refused(request):
        return refused
    form = SlaTargetsForm(request.POST or None, targets=_targets())
    status = 200
    if request.method == "POST":
        if form.is_valid():
            changes = form.changes()
            actor = Actor.for_request(request)
            try:
                sla_targets_set_many(changes=changes, actor=actor)
            except TocsinError as exc:
                form.add_error(None, exc.message)
            else:
                summary = ", ".join(
                    f"P{p} {format_duration(r)} / {format_duration(s)}" for p, r, s, _ in changes
                )
                messages.success(
                    request,
                    f"SLA targets saved: {summary}." if changes else "SLA targets unchanged.",
                )
                return redirect("settings-sla")
        status = 422
    return render(request, "incidents/settings_sla.html", {"form": form}, status=status)
