"""Turning what people send (API JSON, UI forms) into layers, and stored rows into the
plain data of `rules.py`. Every refusal names its field, e.g. ``layers[1].users[2]``."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tocsin.accounts.models import User
from tocsin.accounts.permissions import Action, people_who_may
from tocsin.core.clock import is_zone
from tocsin.core.errors import Invalid
from tocsin.oncall import rules
from tocsin.oncall.models import LayerMember

MAX_LAYERS = 20
MAX_USERS = 100
MAX_RESTRICTIONS = 50
MAX_EVERY = {"hours": 24 * 366, "days": 366, "weeks": 104}
# Hand-offs plus restriction windows all of a schedule's layers make in a week, at most:
# far above any real rota (three layers of daily windows make 21 and a week of hourly
# hand-offs 168), and a bound on the work each schedule adds to the pages that read
# every schedule (selectors.MAX_WORK bounds one request's span).
MAX_WEEKLY_EVENTS = 2000
_UNIT_HOURS = {"hours": 1, "days": 24, "weeks": 168}
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


@dataclass
class LayerInput:
    name: str
    start: dt.datetime  # naive local
    every: int
    unit: str
    users: list[User]
    end: dt.datetime | None = None
    restrictions: list[dict[str, Any]] = field(default_factory=list)
    id: int | None = None


def parse_time_zone(value: Any, where: str = "time_zone") -> str:
    if not isinstance(value, str) or not value.strip():
        raise Invalid(where, "give an IANA time zone such as Europe/Berlin")
    value = value.strip()
    if not is_zone(value):
        raise Invalid(where, f"{value!r} is not a known IANA time zone (e.g. Europe/Berlin)")
    return value


def parse_local(value: Any, where: str) -> dt.datetime:
    """A local date-time without an offset, to the minute: 2026-01-05T09:00."""
    example = "e.g. 2026-01-05T09:00"
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise Invalid(where, f"give a local date-time, {example}") from None
    else:
        raise Invalid(where, f"give a local date-time, {example}")
    if parsed.tzinfo is not None:
        raise Invalid(
            where,
            f"give the local date-time in the schedule's time zone without an offset, {example}",
        )
    if not 1970 <= parsed.year <= 2199:
        raise Invalid(where, "must lie between 1970 and 2199")
    return parsed.replace(second=0, microsecond=0)


def parse_rotation(value: Any, where: str) -> tuple[int, str]:
    if value == "daily":
        return 1, "days"
    if value == "weekly":
        return 1, "weeks"
    if isinstance(value, Mapping):
        unit = value.get("unit")
        every = value.get("every")
        if unit not in rules.UNITS:
            raise Invalid(f"{where}.unit", 'must be "hours", "days" or "weeks"')
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise Invalid(f"{where}.every", "must be a whole number of at least 1")
        if every > MAX_EVERY[unit]:
            raise Invalid(f"{where}.every", f"must be at most {MAX_EVERY[unit]} {unit}")
        return every, str(unit)
    raise Invalid(where, 'must be "daily", "weekly" or {"every": N, "unit": "hours|days|weeks"}')


def _clock(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _TIME.match(value.strip()):
        raise Invalid(where, "give a time of day as HH:MM, e.g. 09:00")
    return value.strip()


def _weekday(value: Any, where: str) -> int:
    if isinstance(value, str) and value.strip().lower()[:3] in rules.WEEKDAYS:
        return rules.WEEKDAYS.index(value.strip().lower()[:3])
    raise Invalid(where, "give a day of the week: mon, tue, wed, thu, fri, sat or sun")


def parse_restriction(value: Any, where: str) -> dict[str, Any]:
    """One restriction in its canonical stored form:
    ``{"days": [0..6], "start": "HH:MM", "end": "HH:MM", "span_days": n}``."""
    if not isinstance(value, Mapping):
        raise Invalid(
            where,
            "must be an object such as "
            '{"type": "weekly", "days": ["mon"], "start": "09:00", "end": "17:00"}',
        )
    kind = value.get("type", "weekly" if ("days" in value or "start_day" in value) else None)
    start = _clock(value.get("start"), f"{where}.start")
    end = _clock(value.get("end"), f"{where}.end")
    if kind == "daily":
        days = list(range(7))
    elif kind == "weekly" and "start_day" in value:
        first = _weekday(value.get("start_day"), f"{where}.start_day")
        last = _weekday(value.get("end_day"), f"{where}.end_day")
        window = rules.Window.span(first, _as_time(start), last, _as_time(end))
        return {"days": [first], "start": start, "end": end, "span_days": window.span_days}
    elif kind == "weekly":
        raw = value.get("days")
        if not isinstance(raw, list) or not raw:
            raise Invalid(f"{where}.days", 'list the days the window begins on, e.g. ["mon"]')
        days = sorted({_weekday(d, f"{where}.days[{i}]") for i, d in enumerate(raw)})
    else:
        raise Invalid(f"{where}.type", 'must be "daily" or "weekly"')
    if start == end:
        raise Invalid(f"{where}.end", "must differ from the start (a window of no time)")
    return {"days": days, "start": start, "end": end, "span_days": 0 if end > start else 1}


def _as_time(value: str) -> dt.time:
    hour, minute = value.split(":")
    return dt.time(int(hour), int(minute))


def restriction_json(stored: Mapping[str, Any]) -> dict[str, Any]:
    """The canonical form as the API shows it (and accepts back)."""
    days = list(stored["days"])
    span = int(stored["span_days"])
    if span > 1 or (span == 1 and stored["end"] > stored["start"]):
        first = days[0]
        return {
            "type": "weekly",
            "start_day": rules.WEEKDAYS[first],
            "start": stored["start"],
            "end_day": rules.WEEKDAYS[(first + span) % 7],
            "end": stored["end"],
        }
    if len(days) == 7:
        return {"type": "daily", "start": stored["start"], "end": stored["end"]}
    return {
        "type": "weekly",
        "days": [rules.WEEKDAYS[d] for d in days],
        "start": stored["start"],
        "end": stored["end"],
    }


def restriction_label(stored: Mapping[str, Any]) -> str:
    """'Mon–Fri 09:00–17:00', 'every day 20:00–08:00', 'Fri 18:00 – Mon 08:00'."""
    shown = restriction_json(stored)
    if "start_day" in shown:
        return (
            f"{shown['start_day'].title()} {shown['start']} – "
            f"{shown['end_day'].title()} {shown['end']}"
        )
    if shown["type"] == "daily":
        return f"every day {shown['start']}–{shown['end']}"
    days: list[int] = list(stored["days"])
    names = [rules.WEEKDAYS[d].title() for d in days]
    if len(days) > 2 and days == list(range(days[0], days[-1] + 1)):
        return f"{names[0]}–{names[-1]} {shown['start']}–{shown['end']}"
    return f"{', '.join(names)} {shown['start']}–{shown['end']}"


def window_of(stored: Mapping[str, Any]) -> rules.Window:
    return rules.Window(
        frozenset(stored["days"]),
        _as_time(stored["start"]),
        _as_time(stored["end"]),
        int(stored["span_days"]),
    )


def _people(usernames: Any, where: str) -> list[User]:
    if not isinstance(usernames, list) or not usernames:
        raise Invalid(where, "list at least one person by username")
    if len(usernames) > MAX_USERS:
        raise Invalid(where, f"at most {MAX_USERS} places in one layer")
    names = []
    for i, name in enumerate(usernames):
        if not isinstance(name, str) or not name.strip():
            raise Invalid(f"{where}[{i}]", "give a username")
        names.append(name.strip())
    found = {
        u.username: u
        for u in people_who_may(Action.INCIDENT_BE_ASSIGNED).filter(username__in=set(names))
    }
    out = []
    for i, name in enumerate(names):
        user = found.get(name)
        if user is None:
            raise Invalid(f"{where}[{i}]", f"{name!r} is not an active responder")
        out.append(user)
    return out


def parse_layers(value: Any, where: str = "layers") -> list[LayerInput]:
    if not isinstance(value, list):
        raise Invalid(where, "must be a list of layers")
    if len(value) > MAX_LAYERS:
        raise Invalid(where, f"at most {MAX_LAYERS} layers")
    layers = [parse_layer(item, f"{where}[{i}]") for i, item in enumerate(value)]
    events = weekly_events(layers)
    if events > MAX_WEEKLY_EVENTS:
        raise Invalid(
            where,
            f"these layers hand off and open restriction windows {events:.0f} times a week; "
            f"at most {MAX_WEEKLY_EVENTS} (fewer hourly hand-offs or windows)",
        )
    return layers


def weekly_events(layers: list[LayerInput]) -> float:
    """Hand-offs plus restriction window openings a week, over all the layers."""
    return sum(
        168 / (layer.every * _UNIT_HOURS.get(layer.unit, 24))
        + sum(len(r.get("days", ())) for r in layer.restrictions)
        for layer in layers
    )


def parse_layer(value: Any, where: str) -> LayerInput:
    if not isinstance(value, Mapping):
        raise Invalid(where, "must be an object with name, start, rotation and users")
    name = value.get("name")
    if not isinstance(name, str) or not name.strip():
        raise Invalid(f"{where}.name", "must not be empty")
    if len(name.strip()) > 100:
        raise Invalid(f"{where}.name", "at most 100 characters")
    start = parse_local(value.get("start"), f"{where}.start")
    end = None
    if value.get("end") not in (None, ""):
        end = parse_local(value.get("end"), f"{where}.end")
        if end <= start:
            raise Invalid(f"{where}.end", "must be after the start")
    every, unit = parse_rotation(value.get("rotation"), f"{where}.rotation")
    users = _people(value.get("users"), f"{where}.users")
    raw = value.get("restrictions") or []
    if not isinstance(raw, list):
        raise Invalid(f"{where}.restrictions", "must be a list")
    if len(raw) > MAX_RESTRICTIONS:
        raise Invalid(f"{where}.restrictions", f"at most {MAX_RESTRICTIONS} windows")
    restrictions = [parse_restriction(r, f"{where}.restrictions[{i}]") for i, r in enumerate(raw)]
    layer_id = value.get("id")
    if layer_id is not None and (isinstance(layer_id, bool) or not isinstance(layer_id, int)):
        raise Invalid(f"{where}.id", "must be the id of one of this schedule's layers")
    return LayerInput(
        name=name.strip(),
        start=start,
        end=end,
        every=every,
        unit=unit,
        users=users,
        restrictions=restrictions,
        id=layer_id,
    )


# --- stored rows → rules ------------------------------------------------------------------


def rules_layer_input(layer: LayerInput, layer_id: int = 0) -> rules.Layer:
    """A layer not yet saved (the editor's preview)."""
    return rules.Layer(
        id=layer_id,
        start=layer.start,
        end=layer.end,
        every=layer.every,
        unit=layer.unit,
        users=tuple(u.pk for u in layer.users),
        windows=tuple(window_of(r) for r in layer.restrictions),
    )


def members_by_layer(layer_ids: Iterable[int]) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for layer_id, user_id in (
        LayerMember.objects.filter(layer_id__in=list(layer_ids))
        .order_by("layer_id", "position")
        .values_list("layer_id", "user_id")
    ):
        out.setdefault(layer_id, []).append(user_id)
    return out
