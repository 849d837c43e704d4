"""The runbook pages and the incident page's "Runbooks" section: who sees what, the
editor's form with its errors, ticking steps with forms (POST only), escaped text."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.learning.runbook_support import Org, make_runbook, org_fixture  # noqa: F401
from tocsin.accounts.models import User
from tocsin.core.actors import Actor
from tocsin.incidents import services as incidents
from tocsin.incidents.models import Incident
from tocsin.learning import runbooks
from tocsin.learning.models import Runbook, RunbookRun

pytestmark = pytest.mark.django_db

XSS_TITLE = '<script>alert("t")</script>'
XSS_BODY = (
    "<img src=x onerror=alert(1)> [click](javascript:alert(2)) <svg onload=alert(3)></svg> **bold**"
)


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _incident(org: Org) -> Incident:
    return incidents.incident_create(
        actor=Actor.for_user(org.reporter),
        title="Payments failing",
        description="x",
        reporter=org.reporter,
        service=org.service,
    )


def _form(org: Org, **kw: Any) -> dict[str, Any]:
    data = {
        "name": "Payments down",
        "description": "",
        "service": str(org.service.pk),
        "category": "",
        "steps-TOTAL_FORMS": "3",
        "steps-INITIAL_FORMS": "0",
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "50",
        "steps-0-title": "Look at the dashboard",
        "steps-0-ORDER": "2",
        "steps-1-title": "Check the status page",
        "steps-1-ORDER": "1",
        "steps-2-title": "",
    }
    data.update(kw)
    return data


def test_who_sees_the_runbook_pages(org: Org) -> None:
    runbook = make_runbook(service=org.service)
    for path in ("/runbooks/", f"/runbooks/{runbook.pk}/"):
        assert _client(org.reporter).get(path).status_code == 404
        assert _client(org.agent).get(path).status_code == 200
    for path in ("/runbooks/new/", f"/runbooks/{runbook.pk}/edit/"):
        assert _client(org.reporter).get(path).status_code == 404
        assert _client(org.responder).get(path).status_code == 403
        assert _client(org.manager).get(path).status_code == 200
    assert _client(org.agent).post(f"/runbooks/{runbook.pk}/archive/").status_code == 403
    assert _client(org.agent).get("/runbooks/").content.decode().count("New runbook") == 0
    assert "New runbook" in _client(org.manager).get("/runbooks/").content.decode()
    assert _client(org.agent).get("/runbooks/999999/").status_code == 404


def test_a_manager_writes_a_runbook_in_the_editor(org: Org) -> None:
    client = _client(org.manager)
    made = client.post("/runbooks/new/", _form(org))
    assert made.status_code == 302
    runbook = Runbook.objects.get()
    assert [s.title for s in runbook.steps.order_by("position")] == [
        "Check the status page",
        "Look at the dashboard",
    ]
    # a loopback URL and an unknown variable are refused on the step, nothing changes
    bad = client.post(
        f"/runbooks/{runbook.pk}/edit/",
        _form(
            org,
            **{
                "steps-INITIAL_FORMS": "0",
                "steps-0-url": "http://127.0.0.1:8000/admin",
                "steps-1-body_template": '{"a": "{{ secret }}"}',
            },
        ),
    )
    assert bad.status_code == 422
    page = bad.content.decode()
    assert "field-error" in page, page[-3000:]
    assert runbook.steps.filter(url="").count() == 2
    bad = client.post(
        f"/runbooks/{runbook.pk}/edit/",
        _form(
            org,
            **{
                "steps-1-url": "https://example.com/hook",
                "steps-1-body_template": '{"a": "{{ secret }}"}',
            },
        ),
    )
    assert bad.status_code == 422 and "unknown variable" in bad.content.decode().lower()
    # an edit removes a step
    ok = client.post(f"/runbooks/{runbook.pk}/edit/", _form(org, **{"steps-0-DELETE": "on"}))
    assert ok.status_code == 302
    assert [s.title for s in runbook.steps.all()] == ["Check the status page"]
    assert client.post(f"/runbooks/{runbook.pk}/archive/").status_code == 302
    assert Runbook.objects.get().archived_at is not None


def test_step_text_is_escaped_and_markdown_is_cleaned(org: Org) -> None:
    runbook = make_runbook(
        XSS_TITLE,
        service=org.service,
        steps=[runbooks.StepSpec(title=XSS_TITLE, body=XSS_BODY)],
    )
    incident = _incident(org)
    runbooks.run_start(incident=incident, runbook=runbook, actor=Actor.for_user(org.agent))
    for path in (f"/runbooks/{runbook.pk}/", "/runbooks/", f"/incidents/{incident.ref}/"):
        page = _client(org.agent).get(path).content.decode()
        assert "<script>alert" not in page, path
        assert "onerror=" not in page.replace("onerror=alert(1)&gt;", "")
        assert "<svg onload" not in page and 'href="javascript:' not in page
        assert "&lt;script&gt;" in page
    page = _client(org.agent).get(f"/runbooks/{runbook.pk}/").content.decode()
    assert "<strong>bold</strong>" in page


def test_the_incident_section_starts_runs_and_ticks_steps_with_posts(org: Org) -> None:
    runbook = make_runbook(service=org.service)
    incident = _incident(org)
    alice = _client(org.agent)
    page = alice.get(f"/incidents/{incident.ref}/").content.decode()
    assert 'id="runbooks"' in page and "Card payments failing" in page
    assert alice.get(f"/incidents/{incident.ref}/runbooks/start/").status_code == 405
    started = alice.post(f"/incidents/{incident.ref}/runbooks/start/", {"runbook": runbook.pk})
    assert started.status_code == 302 and started["Location"].endswith("#runbooks")
    run = RunbookRun.objects.get()
    step_url = f"/incidents/{incident.ref}/runbooks/{run.pk}/steps/2/"
    assert alice.get(step_url).status_code == 405
    assert run.steps.filter(done_at__isnull=False).count() == 0
    alice.post(step_url, {"done": "yes"})
    page = alice.get(f"/incidents/{incident.ref}/").content.decode()
    assert "1 of 3 done" in page and 'aria-checked="true"' in page
    # a reporter sees no section on their own incident and cannot tick
    rita = _client(org.reporter)
    assert 'id="runbooks"' not in rita.get(f"/incidents/{incident.ref}/").content.decode()
    assert rita.post(step_url, {"done": "no"}).status_code == 404
    assert run.steps.get(position=2).done_at is not None
    # a run of another incident is not reachable through this one
    other = _incident(org)
    assert (
        alice.post(f"/incidents/{other.ref}/runbooks/{run.pk}/steps/2/", {"done": "no"}).status_code
        == 302
    )
    assert run.steps.get(position=2).done_at is not None
