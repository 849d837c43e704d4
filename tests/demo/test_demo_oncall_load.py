"""The demo organisation's paging history: the on-call load report shows several people
paged over the last month, at night too, with hours on call beside; only finished
incidents got past pages."""

from __future__ import annotations

import pytest
from django.test import Client

from tocsin.accounts.models import User
from tocsin.demo import load_demo
from tocsin.escalation.models import Page
from tocsin.incidents.models import OPEN_STATUSES

pytestmark = pytest.mark.django_db


def test_the_on_call_load_page_has_a_month_to_show() -> None:
    load_demo()
    client = Client()
    client.force_login(User.objects.get(username="ada"))
    response = client.get("/api/v1/reports/oncall-load")
    assert response.status_code == 200, response.content
    items = response.json()["items"]
    paged = [r for r in items if r["pages"]]
    assert len(paged) >= 5
    assert sum(r["night_pages"] for r in items) >= 3
    assert any(r["hours_on_call"] > 0 for r in paged)
    # past pages only for answered incidents (the paging stories aside, which page live)
    history = Page.objects.filter(via="demo history")
    assert history.count() >= 20
    assert not history.filter(
        incident__acknowledged_at__isnull=True, incident__status__in=OPEN_STATUSES
    ).exists()
    page = client.get("/reports/oncall/")
    assert page.status_code == 200 and "Fairness" in page.content.decode()
