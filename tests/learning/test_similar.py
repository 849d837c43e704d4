"""Similar incidents on the real full-text index (migration 0003) on both databases: the
search documents kept in step by the incident hooks, ranking, stemming, phrases, input
that must not break the query, the API and who may see it, the incident page section."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from tests.alerts.engine.helpers import make_integration, make_service
from tocsin.accounts.models import User
from tocsin.alerts.models import Alert
from tocsin.catalog.models import Category
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.incidents.models import Incident
from tocsin.incidents.services import incident_merge, incident_resolve, incident_update
from tocsin.learning import fts, similar
from tocsin.learning.models import IncidentDocument, Problem, ProblemStatus
from tocsin.learning.similar import INCIDENT_INDEX, QUERY_WORDS, query_words, similar_incidents

pytestmark = pytest.mark.django_db

MakeIncident = Callable[..., Incident]


def refs(found: Any) -> list[str]:
    return [item.incident.ref for item in found.incidents]


@pytest.fixture
def vpn_story(make_incident: MakeIncident, reporter: User, agent: User) -> dict[str, Incident]:
    """A handful of incidents: two about the VPN (one resolved), a printer, and the new
    VPN incident with a duplicate merged into it."""
    staff = Actor.for_user(agent)
    old = make_incident(
        reporter,
        title="VPN disconnects every hour",
        description="Remote staff lose the tunnel and must log in again.",
    )
    incident_resolve(
        incident=old,
        actor=staff,
        resolution_code="configuration",
        resolution_notes="Raised the keepalive timeout on the VPN concentrator.",
    )
    tunnel = make_incident(
        reporter, title="Tunnel drops for the Lisbon office", description="VPN slow, then gone."
    )
    printer = make_incident(
        reporter, title="Printer jams on floor 2", description="Paper stuck in the tray."
    )
    new = make_incident(
        reporter,
        title="VPN disconnecting for remote workers",
        description="Since this morning people are thrown out of the VPN.",
    )
    duplicate = make_incident(reporter, title="VPN disconnecting again", description="Same.")
    incident_merge(incident=duplicate, into=new, actor=staff)
    return {"old": old, "tunnel": tunnel, "printer": printer, "new": new, "dup": duplicate}


def test_similar_incidents_rank_by_text_stem_and_leave_out_itself_and_its_duplicates(
    vpn_story: dict[str, Incident],
) -> None:
    found = similar_incidents(vpn_story["new"])
    # "disconnecting" finds "disconnects" (stemming); two words of the title outrank one
    assert refs(found) == [vpn_story["old"].ref, vpn_story["tunnel"].ref]
    best = found.incidents[0]
    assert best.incident.resolution_notes.startswith("Raised the keepalive")
    assert best.time_to_resolve is not None
    # the duplicate's own list shows the incident it was merged into (only ITS
    # duplicates are left out of an incident's list)
    assert vpn_story["new"].ref in refs(similar_incidents(vpn_story["dup"]))


def test_category_service_and_alert_labels_are_searched_and_kept_in_step(
    make_incident: MakeIncident, reporter: User, agent: User
) -> None:
    staff = Actor.for_user(agent)
    payments = make_service("Payments gateway")
    network = Category.objects.create(name="Networking")
    by_service = make_incident(reporter, title="Slow answers", service=payments)
    by_category = make_incident(reporter, title="Everything is slow", category=network)
    other = make_incident(reporter, title="Cannot log in")
    # a triage that changes the text rewrites the document (on_updated)
    incident_update(incident=other, actor=staff, changes={"title": "Kubernetes node flapping"})
    assert IncidentDocument.objects.get(pk=other.pk).title == "Kubernetes node flapping"
    # alert labels join the document when the incident is resolved (on_resolved)
    integration = make_integration(payments, "pagerduty", "PD")
    at = now()
    Alert.objects.create(
        integration=integration,
        service=payments,
        dedup_key="k1",
        summary="Latency high",
        labels={"cluster": "eu-west-zebra", "alertname": "HighLatency"},
        started_at=at,
        first_seen_at=at,
        last_seen_at=at,
        incident=other,
    )
    incident_resolve(
        incident=other, actor=staff, resolution_code="fixed", resolution_notes="Drained it."
    )
    query = make_incident(
        reporter,
        title="Payments gateway networking trouble in zebra",
        description="kubernetes",
    )
    found = refs(similar_incidents(query))
    assert set(found) == {by_service.ref, by_category.ref, other.ref}
    labels = IncidentDocument.objects.get(pk=other.pk).labels
    assert "eu-west-zebra" in labels and "HighLatency" in labels
    # the affected services' names too, after the category and the service
    by_service.affected_services.set([make_service("Wallet"), make_service("Billing")])
    incident_update(incident=by_service, actor=staff, changes={"category": network})
    labels = IncidentDocument.objects.get(pk=by_service.pk).labels
    assert labels == "Networking Payments gateway Billing Wallet"


def test_search_over_incident_documents_phrases_and_any_input(
    vpn_story: dict[str, Incident],
) -> None:
    tunnel, old = vpn_story["tunnel"], vpn_story["old"]
    # a phrase matches only words side by side
    assert [i for i, _ in fts.search(INCIDENT_INDEX, '"lisbon office"')] == [tunnel.pk]
    assert fts.search(INCIDENT_INDEX, '"office lisbon"') == []
    # the title outranks the description
    assert fts.search(INCIDENT_INDEX, "tunnel", mode=fts.Mode.ANY)[0][0] == tunnel.pk
    assert old.pk in {i for i, _ in fts.search(INCIDENT_INDEX, "tunnel", mode=fts.Mode.ANY)}
    # stop words alone search nothing in ANY mode, on both databases alike
    assert fts.search(INCIDENT_INDEX, "the and of", mode=fts.Mode.ANY) == []
    assert fts.sqlite_match("the vpn", fts.Mode.ANY) == '"vpn"'
    assert fts.pg_tsquery("the vpn", fts.Mode.ANY) == "'vpn'"
    # nothing a user (or an incident title) holds breaks the query
    for text in [
        '"',
        "'",
        "OR",
        "NOT vpn",
        "*",
        "a:b",
        "(",
        "\\",
        "vpn\x00",
        "-vpn",
        "NEAR(a b)",
        "'); DROP TABLE x; --",
        "vpn & | ! <->",
        "ünïcödé",
    ]:
        for mode in fts.Mode:
            fts.search(INCIDENT_INDEX, text, mode=mode)
            fts.search(INCIDENT_INDEX, text, mode=mode, prefix=True)


def test_an_incident_of_odd_characters_finds_its_like(
    make_incident: MakeIncident, reporter: User
) -> None:
    odd = make_incident(reporter, title='"); DROP TABLE x; -- NEAR( * vpn:* <-> !', description="")
    alike = make_incident(reporter, title="VPN table dropped", description="")
    assert refs(similar_incidents(odd)) == [alike.ref]


def test_query_words_keep_the_telling_words_once() -> None:
    text = query_words("The VPN is flapping", "Network VPN", "Severity: error 2026 a b")
    assert text == "vpn flapping network severity error"
    assert len(query_words(" ".join(f"word{i}" for i in range(100))).split()) == QUERY_WORDS


def test_the_telling_words_are_the_rare_ones_others_share(
    make_incident: MakeIncident, reporter: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(similar, "COMMON_AT", 3)
    slow = [
        make_incident(reporter, title=f"Database slow {n}", description="zebra" if n < 2 else "")
        for n in range(4)
    ]
    make_incident(reporter, title="Lonely words", description="")
    counts = fts.document_counts(INCIDENT_INDEX, ["database", "zebra", "lonely", "the"], cap=3)
    assert counts == {"database": 3, "zebra": 2, "lonely": 1, "the": 0}  # capped at 3
    # the common word and the word no other incident holds are left out
    assert similar.telling_words(["database", "zebra", "lonely"]) == ("zebra", True)
    # all common: the first few, and the newest incidents holding them come first
    assert similar.telling_words(["database", "slow", "lonely"]) == ("database slow", False)
    newest = make_incident(reporter, title="Database slow again", description="")
    assert refs(similar_incidents(newest))[:2] == [slow[3].ref, slow[2].ref]


def test_weighing_by_the_planner_statistics_finds_the_same_incidents(
    make_incident: MakeIncident, reporter: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once the table is analysed, PostgreSQL weighs the common words by the statistics
    (no rows read) and probes only the others: the rare word two incidents share is still
    what finds one from the other, as on SQLite (which counts every word)."""
    monkeypatch.setattr(similar, "COMMON_AT", 5)
    for n in range(12):
        make_incident(reporter, title=f"Database slow {n}", description="")
    pair = [make_incident(reporter, title="Zebra crossing", description="database") for _ in (1, 2)]
    make_incident(reporter, title="Lonely words", description="")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE learning_incident_document")
    fts.forget_statistics()
    try:
        counts = fts.document_counts(INCIDENT_INDEX, ["database", "zebra", "lonely"], cap=5)
        assert counts == {"database": 5, "zebra": 2, "lonely": 1}
        assert similar.telling_words(["database", "zebra", "lonely"]) == ("zebra", True)
        assert refs(similar_incidents(pair[0])) == [pair[1].ref]
    finally:
        fts.forget_statistics()  # the analysis is rolled back with the test


# -- the API ----------------------------------------------------------------------------


def test_api_answers_similar_incidents_with_their_resolution_and_known_errors(
    vpn_story: dict[str, Incident], api: Any, agent: User
) -> None:
    Problem.objects.create(
        number=7,
        title="VPN concentrator drops idle tunnels",
        status=ProblemStatus.KNOWN_ERROR,
        workaround="Reconnect; the keepalive fix is coming.",
    )
    client = api(agent)
    reply = client.get(f"/api/v1/incidents/{vpn_story['new'].ref}/similar")
    assert reply.status_code == 200, reply.content
    body = reply.json()
    assert body["incident"] == vpn_story["new"].ref
    assert body["count"] == 2
    first = body["items"][0]
    assert first["number"] == vpn_story["old"].ref
    assert first["resolution_code"] == "configuration"
    assert first["resolution_notes"].startswith("Raised the keepalive")
    assert first["time_to_resolve_seconds"] is not None
    assert body["items"][1]["resolved_at"] is None
    assert body["problems"][0]["number"] == "PRB-7"
    assert body["problems"][0]["known_error"] is True
    assert body["problems"][0]["workaround"].startswith("Reconnect")
    # limit and offset page through the ranked list
    second = client.get(
        f"/api/v1/incidents/{vpn_story['new'].number}/similar", {"limit": 1, "offset": 1}
    ).json()
    assert [i["number"] for i in second["items"]] == [vpn_story["tunnel"].ref]
    assert second["count"] == 2


def test_api_hides_similar_incidents_from_reporters_and_rejects_bad_input(
    vpn_story: dict[str, Incident], api: Any, agent: User, reporter: User, make_user: Any
) -> None:
    own = api(reporter).get(f"/api/v1/incidents/{vpn_story['new'].ref}/similar")
    assert own.status_code == 404  # their own incident: similar ones are other people's
    stranger = api(make_user("reporter"))
    assert stranger.get(f"/api/v1/incidents/{vpn_story['new'].ref}/similar").status_code == 404
    staff = api(agent)
    assert staff.get("/api/v1/incidents/INC-999999/similar").status_code == 404
    for params in ({"limit": 0}, {"limit": 51}, {"offset": -1}, {"limit": "x"}):
        reply = staff.get(f"/api/v1/incidents/{vpn_story['new'].ref}/similar", params)
        assert reply.status_code == 422, params
        assert reply.json()["detail"][0]["loc"]
    assert Client().get(f"/api/v1/incidents/{vpn_story['new'].ref}/similar").status_code == 401


# -- the incident page ------------------------------------------------------------------


def test_incident_page_shows_similar_incidents_to_staff_only_and_escapes_them(
    make_incident: MakeIncident, reporter: User, agent: User
) -> None:
    evil = make_incident(reporter, title="<script>alert(1)</script> disk full on db1")
    incident_resolve(
        incident=evil,
        actor=Actor.for_user(agent),
        resolution_code="fixed",
        resolution_notes="<img src=x onerror=alert(2)> grew the volume",
    )
    mine = make_incident(reporter, title="Disk full on db2")
    staff = Client()
    staff.force_login(agent)
    page = staff.get(f"/incidents/{mine.ref}/").content.decode()
    assert "Similar incidents" in page
    assert evil.ref in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert "grew the volume" in page
    own = Client()
    own.force_login(reporter)
    page = own.get(f"/incidents/{mine.ref}/").content.decode()
    assert "Similar incidents" not in page and evil.ref not in page


def test_the_live_refresh_of_the_incident_page_runs_no_search(
    make_incident: MakeIncident, reporter: User, agent: User
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    mine = make_incident(reporter, title="Disk full on db2")
    make_incident(reporter, title="Disk full on db1")
    staff = Client()
    staff.force_login(agent)
    with CaptureQueriesContext(connection) as queries:
        reply = staff.get(f"/incidents/{mine.ref}/live/")
    assert reply.status_code == 200
    assert not [q for q in queries.captured_queries if "learning_incident_document" in q["sql"]]
