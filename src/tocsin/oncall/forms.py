"""Forms of the schedule pages: they parse input; the services decide what is allowed.

Times are typed in the viewer's zone (the zone Django has activated for the request,
`accounts.User.time_zone`) and come out as aware instants."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from django import forms

from tocsin.accounts.models import User
from tocsin.accounts.permissions import Action, people_who_may
from tocsin.core.widgets import PickerSelect

# the years a schedule's times may name (as specs.parse_local allows for layers)
FIRST_YEAR, LAST_YEAR = 1971, 2199
DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def _person_label(user: User) -> str:
    return f"{user.display_name} ({user.username})"


class PersonField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return _person_label(obj)


class SpanForm(forms.Form):
    start = forms.DateTimeField(widget=DATETIME_INPUT, label="Start")
    end = forms.DateTimeField(widget=DATETIME_INPUT, label="End")
    note = forms.CharField(required=False, max_length=500, label="Note")

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        for name in ("start", "end"):
            value = data.get(name)
            if value is not None and not FIRST_YEAR <= value.year <= LAST_YEAR:
                self.add_error(name, f"Must lie between {FIRST_YEAR} and {LAST_YEAR}.")
                data.pop(name, None)
        start, end = data.get("start"), data.get("end")
        if start is not None and end is not None and end <= start:
            self.add_error("end", "Must be after the start.")
        return data


class OverrideForm(SpanForm):
    """One person on call for a span, over the whole schedule or in place of one person."""

    user = PersonField(
        queryset=User.objects.none(),
        label="Who is on call",
        widget=PickerSelect(placeholder="Type a name or username"),
    )
    replaces = PersonField(
        queryset=User.objects.none(),
        required=False,
        label="In place of",
        empty_label="Nobody: over the whole schedule",
        help_text="Empty: the person is on call for the whole span, gaps included.",
    )
    field_order = ["user", "replaces", "start", "end", "note"]

    def __init__(self, *args: Any, participants: Iterable[User] = (), **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "override_%s")
        super().__init__(*args, **kwargs)
        people = cast("forms.ModelChoiceField[User]", self.fields["user"])
        people.queryset = people_who_may(Action.INCIDENT_BE_ASSIGNED).order_by("name", "username")
        replaced = cast("forms.ModelChoiceField[User]", self.fields["replaces"])
        replaced.queryset = User.objects.filter(pk__in=[u.pk for u in participants]).order_by(
            "name", "username"
        )


class CoverForm(SpanForm):
    """Ask for cover for a span of one's own shifts."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "cover_%s")
        super().__init__(*args, **kwargs)
        self.fields["note"].help_text = "Optional: why, or what the person covering should know."
