"""The queue's filters (GET), shared by the queue page, its saved views and their API."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import QueryDict

from tocsin.accounts.models import Team, User
from tocsin.catalog.models import Service
from tocsin.catalog.selectors import category_tree, service_list
from tocsin.core.errors import Invalid
from tocsin.incidents.forms import STATUS_FILTER_CHOICES, _choices, _model_choices, staff_people
from tocsin.incidents.models import Priority, Source
from tocsin.incidents.selectors import QUEUE_SORTS, IncidentFilters, team_ids_of

SEARCH_MAX = 200

# The names a queue URL (and a saved view's query) may carry, in their canonical order.
QUEUE_PARAMS = (
    "q",
    "status",
    "priority",
    "sla",
    "assignee",
    "team",
    "service",
    "category",
    "source",
    "sort",
)


class QueueFilterForm(forms.Form):
    """The queue's filters. Submitted with the Apply button (or Enter), never on change."""

    q = forms.CharField(
        required=False,
        label="Search",
        max_length=SEARCH_MAX,
        error_messages={
            "max_length": "Search for at most %(limit_value)d characters (this has %(show_value)d)."
        },
    )
    status = forms.ChoiceField(choices=STATUS_FILTER_CHOICES, required=False)
    priority = forms.TypedChoiceField(
        coerce=int,
        empty_value=None,
        required=False,
        choices=[("", "Any priority"), *Priority.choices],
    )
    sla = forms.ChoiceField(
        label="SLA",
        required=False,
        choices=[("", "Any SLA"), ("breached", "Breached")],
    )
    assignee = forms.ChoiceField(required=False)
    team = forms.ChoiceField(required=False)
    service = forms.ModelChoiceField(
        queryset=Service.objects.none(), required=False, empty_label="Any service"
    )
    category = forms.TypedChoiceField(coerce=int, empty_value=None, required=False)
    source = forms.ChoiceField(choices=[("", "Any source"), *Source.choices], required=False)
    sort = forms.ChoiceField(
        required=False,
        widget=forms.HiddenInput,
        choices=[("", "")]
        + [(key, key) for key in QUEUE_SORTS]
        + [(f"-{key}", f"-{key}") for key in QUEUE_SORTS],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _model_choices(self.fields["service"]).queryset = service_list()
        _choices(self.fields["team"]).choices = [
            ("", "Any team"),
            ("mine", "My teams"),
            *((str(t.pk), t.name) for t in Team.objects.order_by("name")),
        ]
        _choices(self.fields["assignee"]).choices = [
            ("", "Anyone"),
            ("me", "Me"),
            ("unassigned", "Unassigned"),
            *((u.username, u.display_name) for u in staff_people()),
        ]
        choices: list[Any] = [("", "Any category")]
        for top, children in category_tree():
            choices.append((top.pk, top.name))
            choices.extend((child.pk, f"{top.name} › {child.name}") for child in children)
        _choices(self.fields["category"]).choices = choices

    def filters(self, user: User) -> IncidentFilters:
        """The selector's filters for this person ("me", "my teams" are theirs)."""
        data = self.cleaned_data
        assignee = data.get("assignee") or None
        if assignee == "me":
            assignee = user.username
        elif assignee == "unassigned":
            assignee = "none"
        team = data.get("team") or ""
        return IncidentFilters(
            status=[data["status"]] if data.get("status") else [],
            priority=[data["priority"]] if data.get("priority") else [],
            team=int(team) if team.isdigit() else None,
            teams=team_ids_of(user) if team == "mine" else None,
            assignee=assignee,
            service=data["service"].pk if data.get("service") else None,
            category=data.get("category"),
            source=data.get("source") or None,
            q=data.get("q") or "",
            breached=data.get("sla") == "breached",
            sort=data.get("sort") or "",
        )

    def canonical_query(self, *, without: tuple[str, ...] = ()) -> str:
        """The filters set, as a query string in QUEUE_PARAMS order (empty ones left out)."""
        params = QueryDict(mutable=True)
        for name in QUEUE_PARAMS:
            value = self.data.get(name, "") if self.is_bound else ""
            if value and name not in without:
                params[name] = value
        return params.urlencode()


def queue_form(query: str | QueryDict) -> QueueFilterForm:
    """The filter form bound to a query string; invalid: Invalid naming the first field."""
    data = QueryDict(query.removeprefix("?")) if isinstance(query, str) else query
    unknown = sorted(set(data) - set(QUEUE_PARAMS) - {"page"})
    if unknown:
        raise Invalid("query", f"unknown filter {unknown[0]!r}")
    form = QueueFilterForm(data)
    if not form.is_valid():
        field, errors = next(iter(form.errors.items()))
        raise Invalid(field if field != "__all__" else "query", str(errors[0]))
    return form


def queue_query_clean(query: str) -> str:
    """A saved view's query: validated, in canonical order, without the page."""
    return queue_form(query).canonical_query()
