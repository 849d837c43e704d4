"""The demo organisation's schedules, read through the API as a manager would on first
start: every team has one, and between them they show layers, a business-hours
restriction, an override, a pending cover request, a follow-the-sun pair and one gap."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.conftest import ApiClient
from tocsin.accounts.models import Team, User
from tocsin.demo import load_demo

pytestmark = pytest.mark.django_db

BUSINESS_DAYS = ["mon", "tue", "wed", "thu", "fri"]


def _get(client: ApiClient, path: str, **params: Any) -> Any:
    response = client.get(path, params)
    assert response.status_code == 200, (path, response.content)
    return response.json()


def test_the_demo_schedules_show_every_feature() -> None:
    load_demo()
    tom = ApiClient(User.objects.get(username="tom"))
    schedules = _get(tom, "/api/v1/schedules")["items"]
    by_name = {s["name"]: s for s in schedules}
    assert {s["team"]["name"] for s in schedules} == set(
        Team.objects.values_list("name", flat=True)
    )
    assert all(s["layers"] for s in schedules)

    restrictions = [r for s in schedules for layer in s["layers"] for r in layer["restrictions"]]
    assert any(r.get("days") == BUSINESS_DAYS for r in restrictions)

    start = dt.datetime.now(dt.UTC)
    span = {"since": start.isoformat(), "until": (start + dt.timedelta(days=14)).isoformat()}

    desk = by_name["Service Desk on call"]
    overrides = _get(tom, f"/api/v1/schedules/{desk['id']}/overrides")["items"]
    assert len(overrides) == 1 and overrides[0]["replaces"] in ("sam", "lucia")
    shifts = _get(tom, f"/api/v1/schedules/{desk['id']}/shifts", **span)["items"]
    assert any(s["override"] == overrides[0]["id"] for s in shifts)
    assert _get(tom, f"/api/v1/schedules/{desk['id']}/gaps", **span)["count"] == 0

    apps = by_name["Applications"]
    pending = _get(tom, f"/api/v1/schedules/{apps['id']}/cover-requests")["items"]
    assert len(pending) == 1 and pending[0]["requester"] == "chloe"
    assert pending[0]["state"] == "open"

    pair = [s for s in schedules if s["team"]["name"] == "Network"]
    assert {s["time_zone"] for s in pair} == {"Europe/Berlin", "America/Chicago"}
    covered = dt.timedelta()
    for s in pair:
        assert s["layers"][0]["restrictions"][0]["type"] == "daily"
        for shift in _get(tom, f"/api/v1/schedules/{s['id']}/shifts", **span)["items"]:
            covered += dt.datetime.fromisoformat(shift["end"]) - dt.datetime.fromisoformat(
                shift["start"]
            )
    # between them, the two zones' days cover the whole day (± an hour on a few days a year)
    assert abs(covered - dt.timedelta(days=14)) <= dt.timedelta(hours=14)

    platform = by_name["Platform primary"]
    gaps = _get(tom, f"/api/v1/schedules/{platform['id']}/gaps", **span)["items"]
    assert len(gaps) == 1
    assert gaps[0]["start_local"][11:16] == "18:00" and gaps[0]["end_local"][11:16] == "09:00"

    org = _get(tom, "/api/v1/oncall")
    assert org["count"] == len(schedules)
    assert sum(1 for item in org["items"] if item["users"]) >= 3
