"""Problems on the web: the incident page's known-error section (workaround shown, linked
in one click), raising from an incident and from a trend, the problem page's state
buttons, per-role access (a reporter sees nothing, 404), bad input and XSS."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from tests.learning.problem_helpers import World, make_world, problem_entries
from tocsin.core.actors import Actor
from tocsin.learning import problems
from tocsin.learning.models import Problem, ProblemStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(make_user: Any, make_incident: Any) -> World:
    return make_world(make_user, make_incident)


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def known_error(world: World, **kwargs: Any) -> Problem:
    kwargs.setdefault("title", "VPN concentrator drops idle tunnels")
    kwargs.setdefault("service", world.vpn)
    kwargs.setdefault("category", world.network)
    workaround = kwargs.pop("workaround", "Turn on **Always-on VPN**.")
    problem = problems.problem_create(actor=Actor.for_user(world.agent), **kwargs)
    return problems.problem_transition(
        problem=problem,
        actor=Actor.for_user(world.agent),
        status=ProblemStatus.KNOWN_ERROR,
        workaround=workaround,
    )


def text(html: bytes) -> str:
    return re.sub(r"\s+", " ", html.decode())


def test_triage_shows_the_known_error_and_links_it_in_one_click(world: World) -> None:
    linked = [world.incident(f"VPN {n}", staff=True) for n in range(3)]
    known_error(world, incidents=linked)
    fourth = world.incident("Cannot reach intranet", staff=True)
    by_text = world.incident("Tunnel keeps dropping when idle", description="the concentrator")
    alice = signed_in(world.agent)
    for incident, reason in ((fourth, "Same service and category"), (by_text, "Similar text")):
        page = text(alice.get(f"/incidents/{incident.ref}/").content)
        assert "Problems and known errors" in page
        assert reason in page
        assert "Turn on <strong>Always-on VPN</strong>." in page
        assert "Link to PRB-1" in page
        reply = alice.post("/problems/PRB-1/link/", {"incident": incident.ref, "next": "incident"})
        assert reply.status_code == 302
        assert reply["Location"] == f"/incidents/{incident.ref}/#problems"
        assert problem_entries(incident) == [
            "Linked to problem PRB-1: VPN concentrator drops idle tunnels"
        ]
        page = text(alice.get(f"/incidents/{incident.ref}/").content)
        assert "Link to PRB-1" not in page  # linked now: listed, not offered
        assert 'href="/problems/PRB-1/">PRB-1</a> VPN concentrator drops idle tunnels' in page
    assert Problem.objects.get().links.count() == 5


def test_reporters_get_404_on_every_page_and_no_section(world: World) -> None:
    own = world.incident("VPN down", staff=True)
    known_error(world, incidents=[own])
    rita = signed_in(world.reporter)
    page = rita.get(f"/incidents/{own.ref}/")
    assert page.status_code == 200  # her own incident …
    body = page.content.decode()
    assert "Known error" not in body and "PRB-1" not in body and "Always-on" not in body
    assert "/problems/" not in body  # … without the section or the menu entry
    for url in (
        "/problems/",
        "/problems/PRB-1/",
        "/problems/1/edit/",
        "/problems/new/",
        "/problems/trends/",
        f"/problems/new/?incident={own.ref}",
    ):
        assert rita.get(url).status_code == 404, url
    for url, data in (
        ("/problems/new/", {"title": "x"}),
        ("/problems/PRB-1/link/", {"incident": own.ref}),
        (f"/problems/PRB-1/unlink/{own.ref}/", {}),
        ("/problems/PRB-1/status/", {"status": "resolved", "fix_change_ref": "CHG-1"}),
        ("/problems/PRB-1/edit/", {"title": "x"}),
        ("/problems/trends/raise/", {"service": world.vpn.pk, "category": world.network.pk}),
    ):
        assert rita.post(url, data).status_code == 404, url
    problem = Problem.objects.get()
    assert problem.status == ProblemStatus.KNOWN_ERROR and problem.links.count() == 1
    assert Problem.objects.count() == 1


def test_raise_a_problem_from_an_incident(world: World) -> None:
    incident = world.incident("Mail bounces for sales@", staff=True, service=world.mail)
    alice = signed_in(world.agent)
    page = text(alice.get(f"/incidents/{incident.ref}/").content)
    assert f'href="/problems/new/?incident={incident.ref}"' in page
    form = text(alice.get(f"/problems/new/?incident={incident.ref}").content)
    assert 'value="Mail bounces for sales@"' in form
    assert f'value="{incident.ref}"' in form
    reply = alice.post(
        "/problems/new/",
        {
            "title": "Mail relay rejects group addresses",
            "service": world.mail.pk,
            "incident": incident.ref,
            "investigation": "Checked the relay's logs.",
        },
    )
    assert reply.status_code == 302 and reply["Location"] == "/problems/PRB-1/"
    assert problem_entries(incident) == [
        "Linked to problem PRB-1: Mail relay rejects group addresses"
    ]
    page = text(alice.get("/problems/PRB-1/").content)
    assert "<p>Checked the relay's logs.</p>" in page or "Checked the relay&#x27;s logs." in page
    assert incident.ref in page


def test_state_buttons_known_error_resolve_reopen_with_errors(world: World) -> None:
    incident = world.incident("VPN", staff=True)
    problems.problem_create(actor=Actor.for_user(world.agent), title="P", incidents=[incident])
    alice = signed_in(world.agent)
    page = text(alice.get("/problems/PRB-1/").content)
    assert ">Known error</button>" in page and ">Resolve</button>" in page
    assert ">Reopen</button>" not in page
    # a known error needs its workaround
    reply = alice.post("/problems/PRB-1/status/", {"status": "known_error", "workaround": " "})
    assert reply.status_code == 302
    page = text(alice.get("/problems/PRB-1/").content)
    assert "Workaround is required for a known error." in page
    assert Problem.objects.get().status == ProblemStatus.OPEN
    alice.post("/problems/PRB-1/status/", {"status": "known_error", "workaround": "Restart it."})
    assert Problem.objects.get().status == ProblemStatus.KNOWN_ERROR
    assert problem_entries(incident)[-1].startswith("Problem PRB-1 is a known error")
    alice.post("/problems/PRB-1/status/", {"status": "resolved", "fix_change_ref": ""})
    page = text(alice.get("/problems/PRB-1/").content)
    assert "Change reference is required to resolve a problem (the change)." in page
    alice.post("/problems/PRB-1/status/", {"status": "resolved", "fix_change_ref": "CHG-7"})
    assert problem_entries(incident)[-1] == "Problem PRB-1 resolved by change CHG-7."
    page = text(alice.get("/problems/PRB-1/").content)
    assert "<code>CHG-7</code>" in page and ">Reopen</button>" in page
    # a forbidden move from a stale page says what is allowed
    alice.post("/problems/PRB-1/status/", {"status": "known_error", "workaround": "x"})
    page = text(alice.get("/problems/PRB-1/").content)
    assert "It may move to open, not known_error." in page or "may move to open" in page


def test_list_filters_edit_and_bad_input(world: World) -> None:
    alice = signed_in(world.agent)
    problems.problem_create(actor=Actor.for_user(world.agent), title="VPN one", service=world.vpn)
    known_error(world, title="Mail two", service=world.mail, category=None)
    page = text(alice.get("/problems/").content)
    assert "VPN one" in page and "Mail two" in page
    page = text(alice.get("/problems/", {"status": "known_error"}).content)
    assert "Mail two" in page and "VPN one" not in page
    page = text(alice.get("/problems/", {"service": world.vpn.pk}).content)
    assert "VPN one" in page and "Mail two" not in page
    assert alice.get("/problems/", {"service": "abc", "status": "nope"}).status_code == 200
    assert alice.get("/problems/nope/").status_code == 404
    assert alice.get("/problems/99/").status_code == 404
    # bad input: 422, nothing changes
    reply = alice.post("/problems/new/", {"title": ""})
    assert reply.status_code == 422 and Problem.objects.count() == 2
    reply = alice.post("/problems/new/", {"title": "x", "service": "999999"})
    assert reply.status_code == 422
    reply = alice.post("/problems/PRB-2/edit/", {"title": "Mail two", "workaround": ""})
    assert reply.status_code == 422
    assert "Workaround is required for a known error." in text(reply.content)
    assert Problem.objects.get(number=2).workaround == "Turn on **Always-on VPN**."
    reply = alice.post(
        "/problems/PRB-1/edit/", {"title": "VPN one, renamed", "root_cause": "A *bad* route."}
    )
    assert reply.status_code == 302
    assert "<p>A <em>bad</em> route.</p>" in text(alice.get("/problems/PRB-1/").content)
    assert alice.get("/problems/PRB-1/link/").status_code == 405  # no GET changes state
    reply = alice.post("/problems/PRB-1/link/", {"incident": "INC-404"})
    assert reply.status_code == 302
    assert "No incident INC-404." in text(alice.get("/problems/PRB-1/").content)


def test_forms_need_their_csrf_token(world: World) -> None:
    incident = world.incident("VPN", staff=True)
    known_error(world)
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.agent)
    assert client.post("/problems/new/", {"title": "x"}).status_code == 403
    assert client.post("/problems/PRB-1/link/", {"incident": incident.ref}).status_code == 403
    page = client.get(f"/incidents/{incident.ref}/").content.decode()
    section = page[page.index('id="problems"') :]
    assert 'name="csrfmiddlewaretoken"' in section[: section.index("</section>")]


XSS = (
    "<script>alert(1)</script>\n\n"
    "[click](javascript:alert(2)) [data](data:text/html,<b>x</b>) "
    '<img src=x onerror="alert(3)"> <svg onload="alert(4)"></svg> '
    "&lt;script&gt; **bold**"
)


def test_markdown_fields_and_titles_are_safe(world: World) -> None:
    incident = world.incident("VPN", staff=True)
    problem = problems.problem_create(
        actor=Actor.for_user(world.agent),
        title='<script>alert("t")</script>',
        service=world.vpn,
        category=world.network,
        investigation=XSS,
        root_cause=XSS,
    )
    problems.problem_transition(
        problem=problem,
        actor=Actor.for_user(world.agent),
        status=ProblemStatus.KNOWN_ERROR,
        workaround=XSS,
    )
    alice = signed_in(world.agent)
    for url in ("/problems/PRB-1/", f"/incidents/{incident.ref}/", "/problems/"):
        page = alice.get(url).content.decode()
        assert "<script>alert" not in page, url
        assert 'href="javascript:' not in page and 'href="data:' not in page, url
        assert "<svg onload" not in page and "<img src=x" not in page, url  # text, not run
        if url != "/problems/":  # the list shows no Markdown
            assert "&lt;img src=x onerror" in page, url
        assert "&lt;script&gt;alert(&quot;t&quot;)&lt;/script&gt;" in page, url
    page = alice.get("/problems/PRB-1/").content.decode()
    assert "<strong>bold</strong>" in page


def test_trends_page_and_raise(world: World) -> None:
    incidents = [world.incident(f"VPN {n}", staff=True) for n in range(3)]
    world.incident("Mail", staff=True, service=world.mail)
    alice = signed_in(world.agent)
    page = text(alice.get("/problems/trends/").content)
    assert "Raise problem" in page and "VPN" in page
    assert all(i.ref in page for i in incidents)
    assert "Mail" not in page.split("<tbody>")[1]
    reply = alice.get("/problems/trends/", {"threshold": "1"})
    assert reply.status_code == 422 and "At least must be" in text(reply.content)
    assert alice.get("/problems/trends/", {"days": "x"}).status_code == 422
    reply = alice.post(
        "/problems/trends/raise/",
        {"service": world.vpn.pk, "category": world.network.pk, "days": "30"},
    )
    assert reply.status_code == 302 and reply["Location"] == "/problems/PRB-1/"
    assert sorted(i.ref for i in Problem.objects.get().incidents.all()) == sorted(
        i.ref for i in incidents
    )
    assert "No trends" in text(alice.get("/problems/trends/").content)
    # raising again: nothing left to link
    reply = alice.post(
        "/problems/trends/raise/", {"service": world.vpn.pk, "category": world.network.pk}
    )
    assert reply.status_code == 302 and reply["Location"] == "/problems/trends/"
    assert Problem.objects.count() == 1
