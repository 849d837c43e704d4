"""Problems and known errors through the API: the acceptance path (three incidents → known
error → a fourth matched at triage and linked), the life cycle and its 409s, links and
their timeline entries, trends, per-role access and bad input."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ApiClient
from tests.learning.problem_helpers import World, make_world, problem_entries
from tocsin.accounts.models import Role
from tocsin.learning.models import Problem

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(make_user: Any, make_incident: Any) -> World:
    return make_world(make_user, make_incident)


def delete(client: ApiClient, path: str) -> Any:
    return client.client.delete(path, headers={"Authorization": f"Bearer {client.token}"})


def create(client: ApiClient, **body: Any) -> dict[str, Any]:
    body.setdefault("title", "Misconfigured VPN concentrator")
    reply = client.post("/api/v1/problems", body)
    assert reply.status_code == 201, reply.content
    return dict(reply.json())


def test_acceptance_three_incidents_known_error_then_a_fourth_is_matched_and_linked(
    world: World,
) -> None:
    client = ApiClient(world.agent)
    first = [world.incident(f"VPN drop {n}", staff=True) for n in range(3)]
    problem = create(
        client,
        service=world.vpn.pk,
        category=world.network.pk,
        investigation="Logs show *keepalive* timeouts.",
        incidents=[i.ref for i in first],
    )
    assert problem["number"] == "PRB-1" and problem["id"] == 1
    assert problem["status"] == "open" and problem["known_error"] is False
    assert problem["incidents"] == [i.ref for i in first]
    for incident in first:
        assert problem_entries(incident) == [
            "Linked to problem PRB-1: Misconfigured VPN concentrator"
        ]

    reply = client.patch(
        "/api/v1/problems/PRB-1",
        {
            "status": "known_error",
            "root_cause": "The concentrator drops idle tunnels after 60 minutes.",
            "workaround": "Reconnect with **Always-on** enabled.",
        },
    )
    assert reply.status_code == 200, reply.content
    body = reply.json()
    assert body["known_error"] is True and body["status"] == "known_error"
    assert body["workaround_html"] == "<p>Reconnect with <strong>Always-on</strong> enabled.</p>\n"
    assert body["allowed_statuses"] == ["resolved", "open"]
    for incident in first:
        assert problem_entries(incident)[-1] == (
            "Problem PRB-1 is a known error; its workaround is on the problem."
        )

    # a fourth incident, same service and category, is triaged: the known error shows
    fourth = world.incident("Cannot reach intranet from home", staff=True)
    reply = client.get(f"/api/v1/incidents/{fourth.ref}/known-errors")
    assert reply.status_code == 200
    [match] = reply.json()["items"]
    assert match["match"] == "service_category" and match["linked"] is False
    assert match["problem"]["number"] == "PRB-1"
    assert "Always-on" in match["problem"]["workaround_html"]
    # a fifth matches only by its text (no service, no category)
    fifth = world.incident("Tunnel keeps dropping", description="the concentrator drops idle")
    [text_match] = client.get(f"/api/v1/incidents/{fifth.ref}/known-errors").json()["items"]
    assert text_match["match"] == "text" and text_match["problem"]["id"] == 1
    # an unrelated incident matches nothing
    other = world.incident("Printer jam", description="paper stuck in tray 2")
    assert client.get(f"/api/v1/incidents/{other.ref}/known-errors").json() == {
        "items": [],
        "count": 0,
    }

    # linked in one call each
    for incident in (fourth, fifth):
        reply = client.post("/api/v1/problems/1/incidents", {"incident": incident.ref})
        assert reply.status_code == 200
        assert incident.ref in reply.json()["incidents"]
        assert problem_entries(incident) == [
            "Linked to problem PRB-1: Misconfigured VPN concentrator"
        ]
    assert client.get(f"/api/v1/incidents/{fourth.ref}/known-errors").json()["items"][0]["linked"]
    # linking again changes nothing
    client.post("/api/v1/problems/1/incidents", {"incident": fourth.ref})
    assert len(problem_entries(fourth)) == 1

    # resolving needs the change that fixed it
    reply = client.patch("/api/v1/problems/1", {"status": "resolved"})
    assert reply.status_code == 422
    assert reply.json()["detail"][0]["loc"] == ["body", "fix_change_ref"]
    reply = client.patch("/api/v1/problems/1", {"status": "resolved", "fix_change_ref": "CHG-88"})
    assert reply.status_code == 200 and reply.json()["resolved_at"] is not None
    for incident in [*first, fourth, fifth]:
        assert problem_entries(incident)[-1] == "Problem PRB-1 resolved by change CHG-88."
    # a resolved problem is no longer a known error to match
    assert client.get(f"/api/v1/incidents/{fourth.ref}/known-errors").json()["count"] == 0


def test_forbidden_moves_are_409_naming_what_is_allowed_and_change_nothing(world: World) -> None:
    client = ApiClient(world.agent)
    create(client)
    reply = client.patch("/api/v1/problems/1", {"status": "known_error"})
    assert reply.status_code == 422
    assert reply.json()["detail"][0]["loc"] == ["body", "workaround"]
    client.patch("/api/v1/problems/1", {"status": "resolved", "fix_change_ref": "CHG-1"})
    reply = client.patch(
        "/api/v1/problems/1", {"status": "known_error", "workaround": "restart", "title": "New"}
    )
    assert reply.status_code == 409
    assert reply.json()["detail"] == ("PRB-1 is resolved: it may move to open, not known_error")
    problem = Problem.objects.get(number=1)
    assert problem.title == "Misconfigured VPN concentrator" and problem.workaround == ""
    # reopening is allowed, and the same status is no move at all
    assert client.patch("/api/v1/problems/1", {"status": "open"}).json()["status"] == "open"
    assert client.patch("/api/v1/problems/1", {"status": "open"}).status_code == 200
    # a known error keeps its workaround
    client.patch("/api/v1/problems/1", {"status": "known_error", "workaround": "restart"})
    reply = client.patch("/api/v1/problems/1", {"workaround": "  "})
    assert reply.status_code == 422 and reply.json()["detail"][0]["loc"] == ["body", "workaround"]


def test_patch_incidents_is_the_full_set_with_timeline_entries_and_unlink(world: World) -> None:
    client = ApiClient(world.agent)
    a, b, c = (world.incident(f"Drop {n}") for n in range(3))
    create(client, incidents=[a.ref, b.ref])
    reply = client.patch("/api/v1/problems/PRB-1", {"incidents": [b.ref, str(c.number)]})
    assert reply.json()["incidents"] == [b.ref, c.ref]
    assert problem_entries(a)[-1] == "Unlinked from problem PRB-1"
    assert len(problem_entries(b)) == 1
    assert problem_entries(c) == ["Linked to problem PRB-1: Misconfigured VPN concentrator"]
    assert delete(client, f"/api/v1/problems/1/incidents/{b.ref}").status_code == 204
    assert problem_entries(b)[-1] == "Unlinked from problem PRB-1"
    assert delete(client, f"/api/v1/problems/1/incidents/{b.ref}").status_code == 404
    assert client.get("/api/v1/problems/1").json()["incidents"] == [c.ref]


def test_list_filters_and_idempotent_create(world: World) -> None:
    client = ApiClient(world.agent)
    create(client, title="VPN", service=world.vpn.pk, category=world.network.pk)
    create(client, title="Mail", service=world.mail.pk)
    client.patch("/api/v1/problems/2", {"status": "known_error", "workaround": "use webmail"})
    titles = [p["title"] for p in client.get("/api/v1/problems").json()["items"]]
    assert titles == ["Mail", "VPN"]
    assert client.get("/api/v1/problems", {"status": "known_error"}).json()["count"] == 1
    assert [
        p["title"]
        for p in client.get("/api/v1/problems", {"service": world.vpn.pk}).json()["items"]
    ] == ["VPN"]
    assert client.get("/api/v1/problems", {"category": world.hardware.pk}).json()["count"] == 0
    assert client.get("/api/v1/problems", {"status": "nope"}).status_code == 422
    assert client.get("/api/v1/problems", {"service": 99999}).status_code == 422
    key = {"Idempotency-Key": "prb-once"}
    one = client.post("/api/v1/problems", {"title": "Once"}, headers=key)
    two = client.post("/api/v1/problems", {"title": "Once"}, headers=key)
    assert one.status_code == two.status_code == 201
    assert one.json()["id"] == two.json()["id"]
    assert Problem.objects.filter(title="Once").count() == 1


def test_trends_list_and_raise(world: World) -> None:
    client = ApiClient(world.agent)
    vpn = [world.incident(f"VPN {n}", staff=True) for n in range(3)]
    world.incident("Mail 1", staff=True, service=world.mail)
    world.incident("Mail 2", staff=True, service=world.mail)
    [trend] = client.get("/api/v1/problems/trends").json()["items"]
    assert trend["service"]["name"] == "VPN" and trend["category"]["name"] == "Network"
    assert trend["count"] == 3 and sorted(trend["incidents"]) == sorted(i.ref for i in vpn)
    assert client.get("/api/v1/problems/trends", {"threshold": 2}).json()["count"] == 2
    assert client.get("/api/v1/problems/trends", {"threshold": 1}).status_code == 422
    assert client.get("/api/v1/problems/trends", {"days": 0}).status_code == 422
    reply = client.post(
        "/api/v1/problems/trends", {"service": world.vpn.pk, "category": world.network.pk}
    )
    assert reply.status_code == 201
    assert reply.json()["title"] == "Recurring Network incidents on VPN"
    assert reply.json()["incidents"] == [i.ref for i in vpn]
    assert reply.json()["owner"] == "alice"
    # linked now: no longer a trend, and raising again has nothing to link
    assert client.get("/api/v1/problems/trends").json()["count"] == 0
    again = client.post(
        "/api/v1/problems/trends", {"service": world.vpn.pk, "category": world.network.pk}
    )
    assert again.status_code == 409
    assert Problem.objects.count() == 1


def test_reporters_get_404_everywhere(world: World, make_user: Any) -> None:
    staff = ApiClient(world.agent)
    own = world.incident("Mine")
    create(staff, incidents=[own.ref])
    staff.patch("/api/v1/problems/1", {"status": "known_error", "workaround": "x"})
    rita = ApiClient(world.reporter)
    assert rita.get(f"/api/v1/incidents/{own.ref}").status_code == 200  # her own incident
    for reply in (
        rita.get("/api/v1/problems"),
        rita.post("/api/v1/problems", {"title": "x"}),
        rita.get("/api/v1/problems/1"),
        rita.get("/api/v1/problems/PRB-1"),
        rita.patch("/api/v1/problems/1", {"title": "x"}),
        rita.post("/api/v1/problems/1/incidents", {"incident": own.ref}),
        delete(rita, f"/api/v1/problems/1/incidents/{own.ref}"),
        rita.get("/api/v1/problems/trends"),
        rita.get(f"/api/v1/incidents/{own.ref}/known-errors"),
    ):
        assert reply.status_code == 404, reply.content
    assert Problem.objects.get(number=1).title == "Misconfigured VPN concentrator"
    # every staff role may
    for role in (Role.RESPONDER, Role.MANAGER, Role.ADMIN):
        assert ApiClient(make_user(role)).get("/api/v1/problems/1").status_code == 200


def test_bad_input_is_422_naming_the_field_and_changes_nothing(world: World) -> None:
    client = ApiClient(world.agent)
    for body, field in (
        ({}, "title"),
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "a\nb"}, "title"),
        ({"title": "nul\x00"}, "title"),
        ({"title": "x", "service": 999999}, "service"),
        ({"title": "x", "service": "1"}, "service"),
        ({"title": "x", "category": 999999}, "category"),
        ({"title": "x", "owner": "nobody"}, "owner"),
        ({"title": "x", "owner": "rita"}, "owner"),  # a reporter cannot own a problem
        ({"title": "x", "incidents": ["INC-999"]}, "incidents"),
        ({"title": "x", "incidents": ["bogus"]}, "incidents"),
        ({"title": "x", "status": "resolved"}, "status"),  # unknown field on create
        ({"title": "x", "investigation": "y" * 50_001}, "investigation"),
    ):
        reply = client.post("/api/v1/problems", body)
        assert reply.status_code == 422, (body, reply.content)
        assert field in reply.json()["detail"][0]["loc"], (body, reply.json())
    assert Problem.objects.count() == 0
    create(client)
    for body, field in (
        ({"status": "closed"}, "status"),
        ({"title": None}, "title"),
        ({"incidents": None}, "incidents"),
        ({"fix_change_ref": "a\nb"}, "fix_change_ref"),
    ):
        reply = client.patch("/api/v1/problems/1", body)
        assert reply.status_code == 422, (body, reply.content)
        assert field in reply.json()["detail"][0]["loc"], (body, reply.json())
    assert client.get("/api/v1/problems/PRB-x").status_code == 404
    assert client.get("/api/v1/problems/99").status_code == 404
    assert client.post("/api/v1/problems/1/incidents", {"incident": "INC-77"}).status_code == 422
    malformed = client.client.post(
        "/api/v1/problems",
        "{not json",
        content_type="application/json",
        headers={"Authorization": f"Bearer {client.token}"},
    )
    assert malformed.status_code == 400


def test_a_refused_patch_changes_nothing_not_even_the_links(world: World) -> None:
    client = ApiClient(world.agent)
    a, b = world.incident("A"), world.incident("B")
    create(client, incidents=[a.ref])
    client.patch("/api/v1/problems/1", {"status": "resolved", "fix_change_ref": "CHG-1"})
    for body, status in (
        ({"incidents": [b.ref], "status": "known_error", "workaround": "w"}, 409),
        ({"incidents": [b.ref, "INC-999"], "title": "Renamed"}, 422),
        ({"incidents": [b.ref], "fix_change_ref": ""}, 422),  # resolved keeps its change
    ):
        reply = client.patch("/api/v1/problems/1", body)
        assert reply.status_code == status, (body, reply.content)
    problem = client.get("/api/v1/problems/1").json()
    assert problem["incidents"] == [a.ref] and problem["title"] == "Misconfigured VPN concentrator"
    assert problem["fix_change_ref"] == "CHG-1" and problem["status"] == "resolved"
    assert problem_entries(b) == []
    assert len(problem_entries(a)) == 2  # linked, resolved


def test_text_matching_ignores_words_that_say_nothing(world: World) -> None:
    client = ApiClient(world.agent)
    create(client, title="The router on the third floor is dropping packets")
    client.patch("/api/v1/problems/1", {"status": "known_error", "workaround": "Use the wifi."})
    printer = world.incident("Printer on fire in the lobby", description="it is on fire")
    assert client.get(f"/api/v1/incidents/{printer.ref}/known-errors").json()["count"] == 0
    router = world.incident('"Router" drops? packets!', description="")  # stemmed, no syntax
    [match] = client.get(f"/api/v1/incidents/{router.ref}/known-errors").json()["items"]
    assert match["match"] == "text"
