"""The public page and JSON are rendered once per change and served from the cache: no
incident table is read per request, conditional GETs answer 304, a change or the clock
(a maintenance starting, a new day) renders again, and a second web process uses the row
the first one stored."""

from __future__ import annotations

import datetime as dt
import gzip
import json

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.comms.sppublic_data import build
from tocsin.comms import public
from tocsin.comms.models import PublicIncident, PublicRender, PublicUpdate
from tocsin.comms.services import status_changed
from tocsin.comms.statuspage_json import DOCUMENTS
from tocsin.core.clock import now

PATHS = [
    "/status/",
    "/status/feed.atom",
    "/status/feed.rss",
    *[f"/status/api/v2/{name}" for name in DOCUMENTS],
]


@pytest.fixture(autouse=True)
def _fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(public, "REVISION_TTL", 0.0)
    public.forget()


def tables(queries: list[dict[str, str]]) -> set[str]:
    found = set()
    for q in queries:
        sql = q["sql"].lower()
        for word in sql.replace('"', " ").replace("`", " ").split():
            if "_" in word and word.split(".")[-1].startswith(
                ("incidents_", "comms_", "alerts_", "accounts_", "catalog_", "django_")
            ):
                found.add(word.split(".")[-1])
    return found


@pytest.mark.django_db
def test_requests_read_only_the_cache_and_never_an_incident_table() -> None:
    data = build()
    client = Client()
    incident_path = f"/status/incidents/{data.incident.pk}/"
    for path in [*PATHS, incident_path]:
        client.get(path)  # the first request renders (and stores the row)
    public.forget()  # a process that has not served this revision yet: reads the rows
    for path in [*PATHS, incident_path]:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(path)
        assert response.status_code == 200
        assert len(ctx.captured_queries) <= 2, (path, ctx.captured_queries)
        assert tables(ctx.captured_queries) <= {"comms_statuspage", "comms_publicrender"}
    for path in [*PATHS, incident_path]:  # and then from its memory: the revision only
        with CaptureQueriesContext(connection) as ctx:
            client.get(path)
        assert tables(ctx.captured_queries) == {"comms_statuspage"}
        assert len(ctx.captured_queries) == 1


@pytest.mark.django_db
def test_within_the_revision_ttl_a_request_makes_no_query(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    build()
    monkeypatch.setattr(public, "REVISION_TTL", 60.0)
    client = Client()
    client.get("/status/api/v2/summary.json")
    client.get("/status/")
    with CaptureQueriesContext(connection) as ctx:
        assert client.get("/status/api/v2/summary.json").status_code == 200
        assert client.get("/status/").status_code == 200
    assert ctx.captured_queries == []


@pytest.mark.django_db
@pytest.mark.parametrize("path", PATHS)
def test_conditional_get_and_cache_headers(path: str) -> None:
    build()
    client = Client()
    first = client.get(path)
    assert first.status_code == 200
    assert first["Cache-Control"] == "public, max-age=30"
    assert first["ETag"].startswith('"') and first["ETag"].endswith('"')
    assert "Last-Modified" in first
    assert "Cookie" not in first.get("Vary", "")
    assert not first.cookies
    again = client.get(path, headers={"If-None-Match": first["ETag"]})
    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == first["ETag"]
    since = client.get(path, headers={"If-Modified-Since": first["Last-Modified"]})
    assert since.status_code == 304
    other = client.get(path, headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200 and other.content == first.content


@pytest.mark.django_db
def test_gzip_for_readers_that_accept_it() -> None:
    build()
    client = Client()
    plain = client.get("/status/")
    packed = client.get("/status/", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert packed["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.content) == plain.content
    assert packed["ETag"] != plain["ETag"]
    assert "Accept-Encoding" in packed["Vary"]
    assert (
        client.get(
            "/status/", headers={"Accept-Encoding": "gzip", "If-None-Match": packed["ETag"]}
        ).status_code
        == 304
    )


@pytest.mark.django_db
def test_a_public_change_renders_again_and_changes_the_etag() -> None:
    data = build()
    client = Client()
    first = client.get("/status/api/v2/incidents/unresolved.json")
    PublicUpdate.objects.create(
        public_incident=data.incident, status="monitoring", body="A fix is deployed."
    )
    PublicIncident.objects.filter(pk=data.incident.pk).update(status="monitoring")
    # not yet published to the public: the revision did not move
    assert client.get("/status/api/v2/incidents/unresolved.json").content == first.content
    status_changed()
    second = client.get(
        "/status/api/v2/incidents/unresolved.json", headers={"If-None-Match": first["ETag"]}
    )
    assert second.status_code == 200
    assert second["ETag"] != first["ETag"]
    doc = json.loads(second.content)
    assert doc["incidents"][0]["status"] == "monitoring"
    assert doc["incidents"][0]["incident_updates"][0]["body"] == "A fix is deployed."
    assert doc["incidents"][0]["monitoring_at"] is not None


@pytest.mark.django_db
def test_the_clock_starts_a_maintenance_without_a_change() -> None:
    data = build()
    client = Client()
    upcoming = json.loads(client.get("/status/api/v2/scheduled-maintenances/upcoming.json").content)
    assert [m["name"] for m in upcoming["scheduled_maintenances"]] == ["Database upgrade"]
    later = data.upcoming.scheduled_for + dt.timedelta(minutes=1)
    with time_machine.travel(later, tick=False):
        active = json.loads(client.get("/status/api/v2/scheduled-maintenances/active.json").content)
        upcoming = json.loads(
            client.get("/status/api/v2/scheduled-maintenances/upcoming.json").content
        )
    assert "Database upgrade" in [m["name"] for m in active["scheduled_maintenances"]]
    assert upcoming["scheduled_maintenances"] == []


@pytest.mark.django_db
def test_a_new_day_moves_the_uptime_bars() -> None:
    build()
    client = Client()
    client.get("/status/")
    row = PublicRender.objects.get(key="page")
    assert row.valid_until <= now() + dt.timedelta(days=1)
    with time_machine.travel(row.valid_until + dt.timedelta(seconds=1), tick=False):
        client.get("/status/")
    assert PublicRender.objects.get(key="page").rendered_at > row.rendered_at


@pytest.mark.django_db
def test_a_second_process_serves_the_stored_row_without_rendering(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    build()
    client = Client()
    first = client.get("/status/")
    public.forget()  # another process: nothing in memory

    def no_render(*args: object, **kwargs: object) -> None:
        raise AssertionError("rendered twice for one revision")

    monkeypatch.setattr(public, "_render", no_render)
    second = client.get("/status/")
    assert second.content == first.content and second["ETag"] == first["ETag"]


@pytest.mark.django_db
def test_unknown_and_draft_incidents_are_404() -> None:
    data = build()
    client = Client()
    assert client.get(f"/status/incidents/{data.draft.pk}/").status_code == 404
    assert client.get("/status/incidents/999999/").status_code == 404
    assert client.get(f"/status/incidents/{data.resolved.pk}/").status_code == 200


@pytest.mark.django_db
def test_documents_answer_only_get_and_head() -> None:
    build()
    client = Client()
    assert client.post("/status/api/v2/summary.json").status_code == 405
    head = client.head("/status/api/v2/summary.json")
    assert head.status_code == 200 and head.content == b""


@pytest.mark.django_db
def test_a_copy_from_an_earlier_life_of_the_database_is_never_served() -> None:
    # a test database rolled back and filled again counts revisions from the start: the
    # same revision number with another change time is another page
    from tocsin.comms.models import StatusPage

    build()
    client = Client()
    first = json.loads(client.get("/status/api/v2/incidents.json").content)
    assert first["incidents"]
    revision = StatusPage.objects.get(pk=1).revision
    PublicIncident.objects.all().delete()
    StatusPage.objects.filter(pk=1).update(
        revision=revision, changed_at=now() + dt.timedelta(microseconds=1)
    )
    again = json.loads(client.get("/status/api/v2/incidents.json").content)
    assert again["incidents"] == []


def test_the_revision_is_read_every_request_under_tests_and_every_second_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from django.core import mail

    monkeypatch.setattr(public, "REVISION_TTL", None)
    assert public._ttl() == 0.0  # Django's test environment (mail.outbox)
    monkeypatch.delattr(mail, "outbox")
    assert public._ttl() == 1.0
