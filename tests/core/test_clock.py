"""One clock, one time parser: stored times follow the project clock (tocsin.core.clock.now,
moved by `travel()` and by time-machine), and every ISO time from outside is read by
`parse_iso`."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
import time_machine

import tocsin
from tocsin.accounts.models import Role
from tocsin.accounts.services import team_create, token_create, user_create
from tocsin.catalog.services import service_create
from tocsin.core.actors import Actor
from tocsin.core.clock import parse_iso, travel
from tocsin.core.validators import username_valid
from tocsin.incidents.models import EntryKind, TimelineEntry
from tocsin.incidents.templatetags.tocsin_ui import timeline_summary

SETUP = Actor.system("test setup")
PAST = dt.datetime(2024, 3, 1, 9, 30, tzinfo=dt.UTC)


@pytest.mark.django_db
def test_created_times_follow_the_project_clock() -> None:
    # travel() moves only the project clock (as the demo loader does when it writes
    # history): a time taken from anywhere else would be today's
    with travel(PAST):
        person = user_create(username="ana", email="ana@example.com", role=Role.AGENT, actor=SETUP)
        team = team_create(name="Network", actor=SETUP)
        token, _raw = token_create(user=person, name="ci", actor=SETUP)
        service = service_create(name="VPN", actor=SETUP)
    for stored in (person.date_joined, team.created_at, token.created_at, service.created_at):
        assert stored == PAST
    team.refresh_from_db()
    service.refresh_from_db()
    assert (team.created_at, service.created_at) == (PAST, PAST)


@pytest.mark.django_db
def test_created_times_follow_a_frozen_clock() -> None:
    frozen = dt.datetime(2025, 7, 14, 12, 0, tzinfo=dt.UTC)
    with time_machine.travel(frozen, tick=False):
        team = team_create(name="Desk", actor=SETUP)
    team.refresh_from_db()
    assert team.created_at == frozen


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-01T09:30:00Z", PAST),
        ("2024-03-01T10:30:00+01:00", PAST),
        ("2024-03-01T10:30:00+0100", PAST),  # Go and some shells write offsets without a colon
        ("2024-03-01 09:30:00", PAST),  # no offset: UTC
        ("2024-03-01T09:30:00.000000000Z", PAST),  # nanoseconds (Alertmanager)
        ("  2024-03-01T09:30:00Z\n", PAST),
        ("2024-061T09:30:00Z", PAST),  # ordinal date
    ],
)
def test_parse_iso_reads_the_forms_senders_use(text: str, expected: dt.datetime) -> None:
    parsed = parse_iso(text)
    assert parsed == expected and parsed is not None and parsed.tzinfo is not None


@pytest.mark.parametrize("text", ["", "   ", "yesterday", "2024-13-01T00:00:00Z", "12:00"])
def test_parse_iso_answers_none_for_what_is_not_a_time(text: str) -> None:
    assert parse_iso(text) is None


def test_a_timeline_time_without_an_offset_is_shown_not_an_error(settings: Any) -> None:
    # a stored time without an offset is read as UTC (it used to raise in localtime())
    settings.TIME_ZONE = "UTC"
    entry = TimelineEntry(
        kind=EntryKind.FIELD,
        data={"field": "detected_at", "old": None, "new": "2024-03-01T09:30:00"},
    )
    assert timeline_summary(entry) == "set detection time to 01 Mar 2024 09:30"


@pytest.mark.parametrize(
    ("value", "valid"),
    [("ana", True), ("ana.b+c@d-e_f", True), ("ana\n", False), ("an a", False), ("", False)],
)
def test_one_username_rule(value: str, valid: bool) -> None:
    assert username_valid(value) is valid


def test_no_code_reads_another_clock() -> None:
    # every time comes from tocsin.core.clock.now(), which tests and the demo loader move
    src = Path(tocsin.__file__).parent
    other_clocks = re.compile(
        r"auto_now|datetime\.now\(|datetime\.utcnow\(|timezone\.now\(|date\.today\("
    )
    found = [
        f"{path.relative_to(src)}:{n}: {line.strip()}"
        for path in sorted(src.rglob("*.py"))
        if "migrations" not in path.parts and path != src / "core" / "clock.py"
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if other_clocks.search(line) and not line.lstrip().startswith("#")
    ]
    assert found == []
