"""The forms of the settings pages: the priority matrix as a 4×4 grid, and the SLA targets
entered as durations ("30m", "4h", "3d", "1d 4h")."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from tocsin.incidents.models import BusinessCalendar, Level, Priority, SlaTarget
from tocsin.incidents.sla import SLA_MINUTES_MAX

# --- durations -------------------------------------------------------------------

_UNITS: dict[str, int] = {
    "w": 7 * 24 * 60,
    "week": 7 * 24 * 60,
    "weeks": 7 * 24 * 60,
    "d": 24 * 60,
    "day": 24 * 60,
    "days": 24 * 60,
    "h": 60,
    "hr": 60,
    "hrs": 60,
    "hour": 60,
    "hours": 60,
    "m": 1,
    "min": 1,
    "mins": 1,
    "minute": 1,
    "minutes": 1,
}
_PART = re.compile(r"(\d{1,6})\s*([a-z]+)")
DURATION_EXAMPLES = "30m, 4h, 3d or 1d 4h"


class DurationError(ValueError):
    """Why a duration was refused (a sentence that reads after the field's name)."""


def parse_duration(text: str) -> int:
    """Minutes in a duration such as "30m", "4h", "3d", "1d 4h" or "1 day 4 hours"."""
    cleaned = text.strip().lower().replace(",", " ")
    if not cleaned:
        raise DurationError(f"is empty: give a duration such as {DURATION_EXAMPLES}")
    if re.fullmatch(r"\d+", cleaned):
        raise DurationError(
            f"needs a unit: {cleaned}m for minutes, {cleaned}h for hours, {cleaned}d for days"
        )
    position, minutes, seen = 0, 0, set()
    for match in _PART.finditer(cleaned):
        if cleaned[position : match.start()].strip():
            break
        number, unit = match.groups()
        size = _UNITS.get(unit)
        if size is None or size in seen:
            break
        seen.add(size)
        minutes += int(number) * size
        position = match.end()
    else:
        if cleaned[position:].strip() == "" and position:
            if minutes == 0:
                raise DurationError("must be at least 1 minute")
            if minutes > SLA_MINUTES_MAX:
                raise DurationError(f"must be at most {format_duration(SLA_MINUTES_MAX)}")
            return minutes
    raise DurationError(f"is not a duration: give one such as {DURATION_EXAMPLES}")


def format_duration(minutes: int) -> str:
    """ "1d 4h", "30m", "1h 30m": the form people type, largest unit first."""
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [f"{days}d" if days else "", f"{hours}h" if hours else "", f"{mins}m" if mins else ""]
    return " ".join(part for part in parts if part) or "0m"


# --- the priority matrix ------------------------------------------------------------

PRIORITY_CHOICES = [(value, f"P{value}") for value in Priority.values]


def cell_name(impact: int, urgency: int) -> str:
    return f"impact{impact}_urgency{urgency}"


class PriorityMatrixForm(forms.Form):
    """One select per cell: impact (rows) × urgency (columns) → priority."""

    def __init__(self, *args: Any, matrix: dict[int, dict[int, int]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.matrix = matrix
        for impact, impact_label in Level.choices:
            for urgency, urgency_label in Level.choices:
                self.fields[cell_name(impact, urgency)] = forms.TypedChoiceField(
                    choices=PRIORITY_CHOICES,
                    coerce=int,
                    initial=matrix[urgency][impact],
                    label=f"Impact {impact_label}, urgency {urgency_label}",
                    error_messages={"invalid_choice": "Choose P1, P2, P3 or P4."},
                )

    def rows(self) -> list[dict[str, Any]]:
        """The grid for the template: one row per impact, one cell per urgency."""
        return [
            {
                "impact": impact,
                "label": label,
                "cells": [self[cell_name(impact, urgency)] for urgency in Level.values],
            }
            for impact, label in Level.choices
        ]

    def changes(self) -> list[tuple[int, int, int]]:
        """(impact, urgency, priority) of each cell that differs from the matrix in force."""
        return [
            (impact, urgency, self.cleaned_data[cell_name(impact, urgency)])
            for impact in Level.values
            for urgency in Level.values
            if self.cleaned_data[cell_name(impact, urgency)] != self.matrix[urgency][impact]
        ]


# --- SLA targets --------------------------------------------------------------------


class DurationField(forms.CharField):
    """Text such as "4h" in, minutes out; the error names the field it belongs to."""

    def __init__(self, *, name: str, **kwargs: Any) -> None:
        super().__init__(max_length=40, **kwargs)
        self.readable_name = name
        self.widget.attrs.update(
            {"autocomplete": "off", "spellcheck": "false", "inputmode": "text", "size": "10"}
        )

    def clean(self, value: Any) -> int:
        text = super().clean(value)
        try:
            return parse_duration(text)
        except DurationError as exc:
            raise ValidationError(f"{self.readable_name} {exc}.") from None

    def prepare_value(self, value: Any) -> Any:
        return format_duration(value) if isinstance(value, int) else value


class SlaTargetsForm(forms.Form):
    """For each priority: the response and resolution targets and the clock's calendar."""

    def __init__(self, *args: Any, targets: dict[int, SlaTarget], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.targets = targets
        calendars = BusinessCalendar.objects.order_by("name")
        for priority in Priority.values:
            target = targets[priority]
            self.fields[f"p{priority}_response"] = DurationField(
                name=f"P{priority} response target",
                label=f"P{priority} response target",
                initial=target.response_minutes,
                required=False,
            )
            self.fields[f"p{priority}_resolution"] = DurationField(
                name=f"P{priority} resolution target",
                label=f"P{priority} resolution target",
                initial=target.resolution_minutes,
                required=False,
            )
            self.fields[f"p{priority}_calendar"] = forms.ModelChoiceField(
                queryset=calendars,
                required=False,
                empty_label="24×7 (always running)",
                initial=target.calendar_id,
                label=f"P{priority} clock",
                error_messages={"invalid_choice": "Choose 24×7 or one of the calendars."},
            )

    def rows(self) -> list[dict[str, Any]]:
        return [
            {
                "priority": priority,
                "cells": [
                    ("Respond within", self[f"p{priority}_response"], True),
                    ("Resolve within", self[f"p{priority}_resolution"], True),
                    ("Clock", self[f"p{priority}_calendar"], False),
                ],
            }
            for priority in Priority.values
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for priority in Priority.values:
            names = [f"p{priority}_{part}" for part in ("response", "resolution", "calendar")]
            if any(name in self.errors for name in names):
                continue
            candidate = SlaTarget(
                priority=priority,
                response_minutes=data[names[0]],
                resolution_minutes=data[names[1]],
                calendar=data[names[2]],
            )
            try:
                candidate.clean()  # the model's own rules: response ≤ resolution, calendar fit
            except ValidationError as exc:
                for field, messages in exc.message_dict.items():
                    part = field.removesuffix("_minutes") if field != "__all__" else "response"
                    name = f"p{priority}_{part}"
                    self.add_error(name, f"P{priority}: {messages[0]}.".replace("..", "."))
        return data

    def changes(self) -> list[tuple[int, int, int, BusinessCalendar | None]]:
        """(priority, response, resolution, calendar) of each priority that changed."""
        changed = []
        for priority in Priority.values:
            target = self.targets[priority]
            wanted = (
                self.cleaned_data[f"p{priority}_response"],
                self.cleaned_data[f"p{priority}_resolution"],
                self.cleaned_data[f"p{priority}_calendar"],
            )
            if wanted != (target.response_minutes, target.resolution_minutes, target.calendar):
                changed.append((priority, *wanted))
        return changed
