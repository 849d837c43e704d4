"""The audit log page for administrators (Admin → Audit log): search, read-only."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from tocsin.accounts.permissions import Action, can
from tocsin.core.audit import ACTION_PATTERN, OBJECT_TYPES, audit_search
from tocsin.core.models import AuditEntry

PAGE_SIZE = 50
DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class AuditFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search")
    actor = forms.CharField(required=False, max_length=150, label="Actor")
    action = forms.RegexField(
        required=False,
        regex=ACTION_PATTERN,
        max_length=81,
        label="Action",
        error_messages={"invalid": "Use an action such as user.update, or its first part."},
    )
    object_type = forms.ChoiceField(
        required=False,
        label="Object",
        choices=[("", "Any object"), *((name, name.replace("_", " ")) for name in OBJECT_TYPES)],
    )
    since = forms.DateField(required=False, label="From", widget=DATE_INPUT)
    until = forms.DateField(required=False, label="To (inclusive)", widget=DATE_INPUT)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("since") and data.get("until") and data["until"] < data["since"]:
            self.add_error("until", "Must not be before the start date.")
        return data


def _start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time()), timezone.get_current_timezone())


def _shown(value: Any) -> str:
    if value == "":
        return "(empty)"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _changes(entry: AuditEntry) -> list[tuple[str, str | None, str | None]]:
    """(field, before, after) for each changed field; None where a side has no value."""
    before, after = entry.before or {}, entry.after or {}
    return [
        (
            name,
            _shown(before[name]) if name in before else None,
            _shown(after[name]) if name in after else None,
        )
        for name in dict.fromkeys([*before, *after])
    ]


@login_required
@require_GET
def audit_log(request: HttpRequest) -> HttpResponse:
    if not can(request.user, Action.AUDIT_VIEW):
        return render(
            request, "403.html", {"message": "The audit log is for administrators."}, status=403
        )
    form = AuditFilterForm(request.GET)
    page = None
    status = 200
    if form.is_valid():
        data = form.cleaned_data
        entries = audit_search(
            actor=data["actor"].strip() or None,
            action=data["action"] or None,
            object_type=data["object_type"] or None,
            since=_start_of(data["since"]) if data["since"] else None,
            until=_start_of(data["until"] + dt.timedelta(days=1)) if data["until"] else None,
            text=data["q"].strip() or None,
        )
        page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
        for entry in page.object_list:
            entry.changes = _changes(entry)
    else:
        status = 400
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "accounts/audit.html",
        {"form": form, "page": page, "query": params.urlencode(), "filtered": bool(params)},
        status=status,
    )
