"""Forms of the incident page's Response block and of the roles settings page: they parse
input; incidents.services.response validates and writes."""

from __future__ import annotations

from typing import Any

from django import forms

from tocsin.catalog.war_room import URL_MAX
from tocsin.incidents.response_selectors import assignable_people, incident_role_list

NOTE_MAX = 1000


def people_choices() -> list[tuple[str, str]]:
    """(username, name) of who may hold a role or take part (active staff)."""
    return [(u.username, u.display_name) for u in assignable_people()]


class RoleAssignForm(forms.Form):
    incident_role = forms.ChoiceField(label="Role")
    username = forms.ChoiceField(label="Person")
    note = forms.CharField(required=False, max_length=NOTE_MAX, label="Note")

    def __init__(
        self, *args: Any, people: list[tuple[str, str]] | None = None, **kwargs: Any
    ) -> None:
        kwargs.setdefault("auto_id", "role_%s")
        super().__init__(*args, **kwargs)
        self.fields["incident_role"].choices = [(r.key, r.name) for r in incident_role_list()]  # type: ignore[attr-defined]
        people = people_choices() if people is None else people
        self.fields["username"].choices = [("", "— Choose —"), *people]  # type: ignore[attr-defined]


class ParticipantForm(forms.Form):
    username = forms.ChoiceField(label="Person")

    def __init__(
        self, *args: Any, people: list[tuple[str, str]] | None = None, **kwargs: Any
    ) -> None:
        kwargs.setdefault("auto_id", "participant_%s")
        super().__init__(*args, **kwargs)
        people = people_choices() if people is None else people
        self.fields["username"].choices = [("", "— Choose —"), *people]  # type: ignore[attr-defined]


class WarRoomForm(forms.Form):
    # Plain text inputs: the service checks the address (http or https only) and says why.
    chat_url = forms.CharField(
        required=False, max_length=URL_MAX, label="Chat channel", widget=forms.URLInput
    )
    video_url = forms.CharField(
        required=False, max_length=URL_MAX, label="Video bridge", widget=forms.URLInput
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "warroom_%s")
        super().__init__(*args, **kwargs)


class IncidentRoleForm(forms.Form):
    name = forms.CharField(max_length=60, label="Name")
    description = forms.CharField(required=False, max_length=300, label="Description")
    position = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=32767,
        label="Position",
    )
