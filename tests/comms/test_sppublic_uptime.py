"""The 90 daily uptime bars and the 90-day figure, from the component status history:
per day the worst status and the share up (a major outage is down time, a partial outage
30 % of it, as Statuspage counts), "no data" before a component existed, days in the
page's time zone."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from tocsin.comms.models import Component, ComponentStatusChange, StatusPage
from tocsin.comms.public import format_percent, snapshot
from tocsin.comms.services import status_page

NOON = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC)


def history(component: Component, *changes: tuple[dt.datetime, str]) -> None:
    for at, status in changes:
        ComponentStatusChange.objects.create(component=component, status=status, at=at)


@pytest.mark.django_db
def test_days_worst_status_and_share_up() -> None:
    with time_machine.travel(NOON, tick=False):
        status_page()
        c = Component.objects.create(name="API", created_at=NOON - dt.timedelta(days=200))
        yesterday = NOON.replace(hour=0) - dt.timedelta(days=1)
        history(
            c,
            (NOON - dt.timedelta(days=200), "operational"),
            (yesterday + dt.timedelta(hours=2), "major_outage"),  # 6 hours down
            (yesterday + dt.timedelta(hours=8), "operational"),
            (yesterday - dt.timedelta(days=1, hours=-10), "partial_outage"),  # 10 h
            (yesterday - dt.timedelta(days=1, hours=-20), "operational"),
            (yesterday - dt.timedelta(days=2, hours=-1), "degraded_performance"),
            (yesterday - dt.timedelta(days=2, hours=-23), "operational"),
        )
        view = snapshot().components[0]
    assert len(view.uptime) == 90
    today, day1, day2, day3 = view.uptime[-1], view.uptime[-2], view.uptime[-3], view.uptime[-4]
    assert today.date == NOON.date() and today.worst == "operational" and today.percent == 100
    assert day1.worst == "major_outage" and day1.percent == pytest.approx(75.0)
    assert day2.worst == "partial_outage"
    assert day2.percent == pytest.approx(100 - 10 / 24 * 30)  # 30 % of 10 hours
    assert day3.worst == "degraded_performance" and day3.percent == 100
    assert day1.label == "14 Jun 2026: 75 % up, Major outage"
    total = 89 * 24 + 12
    assert view.uptime_percent == pytest.approx(100 * (total - 6 - 3) / total)
    assert view.uptime_text == f"{format_percent(view.uptime_percent or 0)} uptime"


@pytest.mark.django_db
def test_no_data_before_a_component_existed_and_the_page_time_zone() -> None:
    at = NOON + dt.timedelta(hours=6)  # 16 June, 06:00 in Auckland
    with time_machine.travel(at, tick=False):
        status_page()
        StatusPage.objects.filter(pk=1).update(time_zone="Pacific/Auckland")  # UTC+12
        c = Component.objects.create(name="New", created_at=at - dt.timedelta(days=2))
        history(c, (at - dt.timedelta(days=2), "operational"))
        view = snapshot().components[0]
    assert view.uptime[-1].date == dt.date(2026, 6, 16)  # already tomorrow in Auckland
    assert view.uptime[0].percent is None and view.uptime[0].label.endswith("no data")
    assert [d.percent is None for d in view.uptime].count(False) == 3
    assert view.uptime_percent == 100


def test_percent_format_never_rounds_up_to_100() -> None:
    assert format_percent(100.0) == "100 %"
    assert format_percent(99.999) == "99.99 %"
    assert format_percent(99.95) == "99.95 %"
    assert format_percent(97.1) == "97.1 %"
