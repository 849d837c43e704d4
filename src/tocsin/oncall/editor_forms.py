"""The schedule editor's forms: the schedule's own fields, then its layers, each with its
restriction windows — repeated fieldsets named ``layer-<i>-<field>`` and
``layer-<i>-r-<j>-<field>``, counted by hidden fields, so the page works without
JavaScript (add, remove and move are submit buttons that re-render the page).

The forms only check shape (required, numbers, HH:MM). `to_layers_json` turns them into
the JSON that `specs.parse_layers` takes (the API's own shape), so both paths share one
set of rules; `apply_invalid` puts its refusal (``layers[1].users[0]``) on the field.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django import forms
from django.utils.datastructures import MultiValueDict

from tocsin.accounts.models import Team, User
from tocsin.accounts.permissions import Action, can, people_who_may
from tocsin.core.clock import zone_names
from tocsin.core.editor_summary import EditorSummary
from tocsin.core.errors import Invalid
from tocsin.core.web import sentence
from tocsin.core.widgets import PickerSelect
from tocsin.oncall import rules, specs
from tocsin.oncall.models import Layer, Schedule

DAY_CHOICES = [(str(i), name.title()) for i, name in enumerate(rules.WEEKDAYS)]
UNIT_CHOICES = [("hours", "hours"), ("days", "days"), ("weeks", "weeks")]
KIND_CHOICES = [("weekly", "On the days ticked"), ("daily", "Every day")]
DATETIME_LOCAL = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
TIME_INPUT = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
NO_TEAM = ""


@cache
def time_zones() -> list[str]:
    """Every IANA zone name (the time zone field's datalist)."""
    return sorted(z for z in zone_names() if "/" in z or z == "UTC")


def editable_teams(user: Any) -> list[Team]:
    """The teams this person may give a schedule to: an administrator any, a manager the
    teams they manage."""
    return [t for t in Team.objects.order_by("name") if can(user, Action.SCHEDULE_EDIT, t)]


def may_leave_teamless(user: Any) -> bool:
    # the service asks the same question (schedule_create / schedule_update)
    return can(user, Action.CONFIG_MANAGE)


class ScheduleForm(forms.Form):
    name = forms.CharField(label="Name", max_length=100)
    description = forms.CharField(
        label="Description",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    time_zone = forms.CharField(
        label="Time zone",
        max_length=64,
        help_text="The zone the layers' start times and restriction windows are in, "
        "e.g. Europe/Berlin. Hand-offs keep their wall-clock time across daylight saving.",
        widget=forms.TextInput(
            attrs={"list": "editor-time-zones", "autocomplete": "off", "spellcheck": "false"}
        ),
    )
    team = forms.ChoiceField(label="Owning team", required=False)

    def __init__(self, *args: Any, user: Any, current_team: Team | None = None, **kw: Any):
        super().__init__(*args, **kw)
        self.current_team = current_team
        teams = editable_teams(user)
        if current_team is not None and current_team.pk not in {t.pk for t in teams}:
            teams.append(current_team)
        choices: list[tuple[str, str]] = [(str(t.pk), t.name) for t in teams]
        if may_leave_teamless(user):
            choices.insert(0, (NO_TEAM, "No team (administrators only)"))
            self.fields["team"].help_text = "Its manager may edit the schedule."
        else:
            self.fields["team"].required = True
            self.fields["team"].help_text = "One of the teams you manage; its manager edits it."
        team = self.fields["team"]
        assert isinstance(team, forms.ChoiceField)
        team.choices = choices
        self.teams = {str(t.pk): t for t in teams}

    def clean_time_zone(self) -> str:
        try:
            return specs.parse_time_zone(self.cleaned_data["time_zone"])
        except Invalid as exc:
            raise forms.ValidationError(exc.detail) from None

    def team_object(self) -> Team | None:
        return self.teams.get(self.cleaned_data.get("team") or NO_TEAM)


def _user_meta(user: User) -> str:
    return user.username


class LayerForm(forms.Form):
    id = forms.IntegerField(required=False, widget=forms.HiddenInput)
    name = forms.CharField(label="Layer name", max_length=100)
    start = forms.CharField(
        label="First hand-off",
        help_text="Local date and time in the schedule's zone.",
        widget=DATETIME_LOCAL,
    )
    end = forms.CharField(
        label="Ends",
        required=False,
        help_text="Empty: the rotation runs on.",
        widget=DATETIME_LOCAL,
    )
    every = forms.IntegerField(
        label="Hand off every",
        min_value=1,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "class": "editor-every"}),
    )
    unit = forms.ChoiceField(label="Unit", choices=UNIT_CHOICES)
    users = forms.CharField(
        label="People, in order",
        help_text="One username a line; the first line is on call first. A person may "
        "appear more than once.",
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "autocapitalize": "none"}),
    )
    add_user = forms.ChoiceField(label="Add a person", required=False)

    def __init__(self, *args: Any, people: list[tuple[str, str]], **kw: Any) -> None:
        super().__init__(*args, **kw)
        add = self.fields["add_user"]
        assert isinstance(add, forms.ChoiceField)
        choices = [("", "Choose a person"), *people]
        add.widget = PickerSelect(placeholder="Type a name to add")
        add.choices = choices  # sets the widget's too


class RestrictionForm(forms.Form):
    kind = forms.ChoiceField(label="Days", choices=KIND_CHOICES)
    days = forms.MultipleChoiceField(
        label="Starts on",
        required=False,
        choices=DAY_CHOICES,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "editor-days"}),
    )
    start = forms.CharField(label="From", widget=TIME_INPUT)
    end = forms.CharField(
        label="Until",
        widget=TIME_INPUT,
        help_text="An end before the start runs past midnight into the next day.",
    )
    end_day = forms.ChoiceField(
        label="Ends on",
        required=False,
        choices=[("", "The same day (the next, past midnight)"), *DAY_CHOICES],
        help_text="A window over several days (Fri 18:00 – Mon 08:00): tick one start day "
        "and choose the day it ends.",
    )

    def clean_start(self) -> str:
        return _hhmm(self.cleaned_data["start"])

    def clean_end(self) -> str:
        return _hhmm(self.cleaned_data["end"])


_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)(:00)?$")


def _hhmm(value: str) -> str:
    match = _HHMM.match(value.strip())
    if not match:
        raise forms.ValidationError("Give a time of day as HH:MM, e.g. 09:00.")
    return f"{int(match.group(1)):02d}:{match.group(2)}"


@dataclass
class LayerBlock:
    """One layer's fieldset: its form and its restriction windows' forms."""

    index: int
    form: LayerForm
    restrictions: list[RestrictionForm] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # about the layer as a whole

    @property
    def anchor(self) -> str:
        return f"layer-{self.index}"

    @property
    def number(self) -> int:
        return self.index + 1

    @property
    def title(self) -> str:
        name = self.form["name"].value() or ""
        return f"Layer {self.number}" + (f" ({name})" if name else "")


def people_choices() -> list[tuple[str, str]]:
    return [
        (u.username, f"{u.display_name} ({u.username})" if u.display_name else u.username)
        for u in people_who_may(Action.INCIDENT_BE_ASSIGNED).order_by("username")
    ]


def _count(data: Mapping[str, Any], key: str, limit: int) -> int:
    try:
        return max(0, min(int(data.get(key, 0)), limit))
    except (TypeError, ValueError):
        return 0


def initial_layer(index: int) -> dict[str, Any]:
    return {"name": f"Layer {index + 1}", "every": 1, "unit": "weeks"}


class ScheduleEditor(EditorSummary):
    """The whole editor: `ScheduleForm` plus the layer blocks. It also answers the
    shared error summary (`tocsin/_error_summary.html`) as one form would: `errors`,
    `fields`, `non_field_errors()` and `editor[name]` over every sub-form."""

    def __init__(
        self,
        *,
        user: Any,
        data: MultiValueDict[str, Any] | None = None,
        schedule: Schedule | None = None,
        layers: list[tuple[Layer, list[User]]] | None = None,
    ) -> None:
        self.bound = data is not None
        self.user = user
        self.people = people_choices()
        self.general: list[str] = []
        initial: dict[str, Any] = {"time_zone": getattr(user, "time_zone", "UTC") or "UTC"}
        if schedule is not None:
            initial = {
                "name": schedule.name,
                "description": schedule.description,
                "time_zone": schedule.time_zone,
                "team": str(schedule.team_id or NO_TEAM),
            }
        current = schedule.team if schedule is not None else None
        self.schedule_form = ScheduleForm(data, user=user, current_team=current, initial=initial)
        self.blocks: list[LayerBlock] = []
        if data is not None:
            for i in range(_count(data, "layers", specs.MAX_LAYERS)):
                block = LayerBlock(i, self._layer_form(i, data=data))
                for j in range(_count(data, f"layer-{i}-restrictions", specs.MAX_RESTRICTIONS)):
                    block.restrictions.append(self._restriction_form(i, j, data=data))
                self.blocks.append(block)
        elif schedule is not None:  # as saved (a schedule may have no layer yet)
            for i, (layer, people) in enumerate(layers or []):
                block = LayerBlock(i, self._layer_form(i, initial=_layer_initial(layer, people)))
                for j, stored in enumerate(layer.restrictions):
                    block.restrictions.append(
                        self._restriction_form(i, j, initial=_restriction_initial(stored))
                    )
                self.blocks.append(block)
        else:
            self.blocks.append(LayerBlock(0, self._layer_form(0, initial=initial_layer(0))))

    # --- building -----------------------------------------------------------------

    def _layer_form(self, i: int, **kw: Any) -> LayerForm:
        return LayerForm(prefix=f"layer-{i}", people=self.people, **kw)

    def _restriction_form(self, i: int, j: int, **kw: Any) -> RestrictionForm:
        return RestrictionForm(prefix=f"layer-{i}-r-{j}", **kw)

    def rebuild(self, layers: list[dict[str, Any]]) -> None:
        """Replace the blocks by unbound forms holding `layers` (values as submitted),
        after an add, remove or move."""
        self.blocks = []
        for i, values in enumerate(layers):
            block = LayerBlock(i, self._layer_form(i, initial=values["layer"]))
            for j, window in enumerate(values["restrictions"]):
                block.restrictions.append(self._restriction_form(i, j, initial=window))
            self.blocks.append(block)

    def raw_layers(self) -> list[dict[str, Any]]:
        """The layers as submitted (uncleaned), for `rebuild`."""
        out = []
        for block in self.blocks:
            form = block.form
            layer = {name: form[name].value() for name in form.fields if name != "add_user"}
            out.append(
                {
                    "layer": layer,
                    "restrictions": [
                        {name: r[name].value() for name in r.fields} for r in block.restrictions
                    ],
                }
            )
        return out

    # --- checking -----------------------------------------------------------------

    def shape_ok(self) -> bool:
        """Every sub-form valid (runs each, so every field's error shows at once)."""
        ok = self.schedule_form.is_valid()
        for block in self.blocks:
            ok = block.form.is_valid() and ok
            for r in block.restrictions:
                ok = r.is_valid() and ok
                ok = _window_ok(r) and ok
        return ok

    def layers_ok(self) -> bool:
        """The layers alone (for a preview, which does not need the name or team)."""
        ok = self.schedule_form.is_valid() or "time_zone" not in self.schedule_form.errors
        for block in self.blocks:
            ok = block.form.is_valid() and ok
            for r in block.restrictions:
                ok = r.is_valid() and ok
                ok = _window_ok(r) and ok
        return ok

    def to_layers_json(self) -> list[dict[str, Any]]:
        """The API's layer JSON (what `specs.parse_layers` takes), from cleaned forms."""
        out = []
        for block in self.blocks:
            data = block.form.cleaned_data
            layer: dict[str, Any] = {
                "name": data["name"],
                "start": data["start"],
                "end": data.get("end") or None,
                "rotation": {"every": data["every"], "unit": data["unit"]},
                "users": [line.strip() for line in data["users"].splitlines() if line.strip()],
                "restrictions": [],
            }
            if data.get("id") is not None:
                layer["id"] = data["id"]
            for r in block.restrictions:
                window = r.cleaned_data
                item: dict[str, Any] = {
                    "type": window["kind"],
                    "start": window["start"],
                    "end": window["end"],
                }
                if window["kind"] == "weekly" and window.get("end_day"):
                    item["start_day"] = rules.WEEKDAYS[int(window["days"][0])]
                    item["end_day"] = rules.WEEKDAYS[int(window["end_day"])]
                elif window["kind"] == "weekly":
                    item["days"] = [rules.WEEKDAYS[int(d)] for d in window["days"]]
                layer["restrictions"].append(item)
            out.append(layer)
        return out

    def parse(self) -> list[specs.LayerInput] | None:
        """The layers through the one parser; None (with the error on its field) when
        it refuses them."""
        try:
            return specs.parse_layers(self.to_layers_json())
        except Invalid as exc:
            self.apply_invalid(exc)
            return None

    def apply_invalid(self, exc: Invalid) -> None:
        """Show a refusal from specs or services on the field it names."""
        where = exc.field or ""
        if where in self.schedule_form.fields:
            label = str(self.schedule_form.fields[where].label)
            self.schedule_form.add_error(where, sentence(exc.detail, label))
            return
        match = _FIELD.match(where)
        if match is None or int(match["layer"]) >= len(self.blocks):
            self.general.append(sentence(exc.message))
            return
        block = self.blocks[int(match["layer"])]
        part, index, sub = match["part"], match["index"], match["sub"]
        if part == "restrictions" and index is not None and int(index) < len(block.restrictions):
            form = block.restrictions[int(index)]
            name = {"type": "kind", "start_day": "days", "end_day": "days"}.get(sub, sub)
            if name not in form.fields:
                name = "days"
            _add(form, name, exc.detail)
            return
        if part == "users":
            detail = exc.detail
            if index is not None:
                detail = f"line {int(index) + 1}: {detail}"
            _add(block.form, "users", detail)
            return
        if part == "rotation":
            _add(block.form, "unit" if sub == "unit" else "every", exc.detail)
            return
        if part in ("name", "start", "end"):
            _add(block.form, part, exc.detail)
            return
        block.errors.append(sentence(exc.detail))

    # --- the error summary's view ---------------------------------------------------

    def _forms(self) -> Iterator[tuple[str, forms.Form]]:
        yield "", self.schedule_form
        for block in self.blocks:
            yield f"{block.title}: ", block.form
            for j, r in enumerate(block.restrictions):
                yield f"{block.title}, window {j + 1}: ", r

    def _block_errors(self) -> list[str]:
        return [e for b in self.blocks for e in b.errors]

    @property
    def has_errors(self) -> bool:
        return bool(self.errors)


_FIELD = re.compile(
    r"^layers\[(?P<layer>\d+)\](?:\.(?P<part>\w+)(?:\[(?P<index>\d+)\])?(?:\.(?P<sub>\w+))?)?"
)


def _add(form: forms.Form, name: str, detail: str) -> None:
    label = str(form.fields[name].label)
    if form.is_bound and not hasattr(form, "cleaned_data"):
        form.is_valid()
    form.add_error(name, sentence(detail, label))


def _window_ok(r: RestrictionForm) -> bool:
    """The rules between a window's fields, once each field is well formed."""
    if not r.is_valid():
        return False
    data = r.cleaned_data
    if data["kind"] == "weekly" and not data["days"]:
        r.add_error("days", "Tick the days the window begins on.")
    elif data["kind"] == "weekly" and data.get("end_day") and len(data["days"]) != 1:
        r.add_error("days", "Tick the one day the window begins on when it ends on another.")
    elif data["kind"] == "daily" and data.get("end_day"):
        r.add_error("end_day", "An every-day window ends the same day (or the next).")
    return not r.errors


def _layer_initial(layer: Layer, people: list[User]) -> dict[str, Any]:
    return {
        "id": layer.pk,
        "name": layer.name,
        "start": layer.start_local.strftime("%Y-%m-%dT%H:%M"),
        "end": layer.end_local.strftime("%Y-%m-%dT%H:%M") if layer.end_local else "",
        "every": layer.every,
        "unit": layer.unit,
        "users": "\n".join(p.username for p in people),
    }


def _restriction_initial(stored: Mapping[str, Any]) -> dict[str, Any]:
    shown = specs.restriction_json(stored)
    if "start_day" in shown:
        return {
            "kind": "weekly",
            "days": [str(rules.WEEKDAYS.index(shown["start_day"]))],
            "end_day": str(rules.WEEKDAYS.index(shown["end_day"])),
            "start": stored["start"],
            "end": stored["end"],
        }
    daily = shown["type"] == "daily"
    return {
        "kind": "daily" if daily else "weekly",
        "days": [] if daily else [str(d) for d in stored["days"]],
        "end_day": "",
        "start": stored["start"],
        "end": stored["end"],
    }
