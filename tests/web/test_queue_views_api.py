"""Saved queue views over the API (/api/v1/views): each person's own, 404 for anyone
else's, filters validated like the queue's, counts of what matches now."""

from __future__ import annotations

from typing import Any

from tocsin.accounts.models import Role
from tocsin.incidents.models import SavedView


def test_create_list_get_patch_delete_own_views(
    api: Any, agent: Any, reporter: Any, make_incident: Any
) -> None:
    make_incident(reporter, title="Down", impact=1, urgency=1)
    make_incident(reporter, title="Slow", impact=3, urgency=3)
    client = api(agent)
    created = client.post("/api/v1/views", {"name": "P1s", "query": "?sort=age&priority=1"})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body == {
        "id": body["id"],
        "name": "P1s",
        "query": "priority=1&sort=age",
        "url": "/?priority=1&sort=age",
        "count": 1,
    }
    listed = client.get("/api/v1/views").json()
    assert listed["count"] == 1 and listed["items"][0]["name"] == "P1s"
    assert client.get(f"/api/v1/views/{body['id']}").json()["count"] == 1
    patched = client.patch(f"/api/v1/views/{body['id']}", {"query": "", "name": "Everything"})
    assert patched.status_code == 200
    assert patched.json()["count"] == 2 and patched.json()["name"] == "Everything"
    deleted = client.client.delete(
        f"/api/v1/views/{body['id']}", headers={"Authorization": f"Bearer {client.token}"}
    )
    assert deleted.status_code == 204
    assert client.get(f"/api/v1/views/{body['id']}").status_code == 404


def test_someone_elses_view_is_not_found(api: Any, agent: Any, make_user: Any) -> None:
    mine = api(agent).post("/api/v1/views", {"name": "Mine", "query": "assignee=me"}).json()
    other = api(make_user(Role.AGENT, username="carol"))
    assert other.get(f"/api/v1/views/{mine['id']}").status_code == 404
    assert other.patch(f"/api/v1/views/{mine['id']}", {"name": "stolen"}).status_code == 404
    gone = other.client.delete(
        f"/api/v1/views/{mine['id']}", headers={"Authorization": f"Bearer {other.token}"}
    )
    assert gone.status_code == 404
    assert other.get("/api/v1/views").json() == {"items": [], "count": 0}
    assert SavedView.objects.get().name == "Mine"


def test_bad_views_are_refused_naming_the_problem(api: Any, agent: Any, reporter: Any) -> None:
    client = api(agent)
    bad_filter = client.post("/api/v1/views", {"name": "x", "query": "priority=7"})
    assert bad_filter.status_code == 422
    assert bad_filter.json()["detail"][0]["loc"][-1] == "query"
    assert "priority" in bad_filter.json()["detail"][0]["msg"]
    unknown = client.post("/api/v1/views", {"name": "x", "query": "colour=red"})
    assert unknown.status_code == 422 and "colour" in unknown.json()["detail"][0]["msg"]
    blank = client.post("/api/v1/views", {"name": "   ", "query": ""})
    assert blank.status_code == 422 and blank.json()["detail"][0]["loc"][-1] == "name"
    assert client.post("/api/v1/views", {"name": "a", "query": ""}).status_code == 201
    twice = client.post("/api/v1/views", {"name": "A", "query": "priority=1"})
    assert twice.status_code == 422 and "already" in twice.json()["detail"][0]["msg"]
    assert api(reporter).post("/api/v1/views", {"name": "r", "query": ""}).status_code == 403
    assert SavedView.objects.count() == 1
