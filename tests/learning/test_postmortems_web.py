"""The postmortem pages: 404 for reporters everywhere, the incident page's section and
its button, editing and moving through the states, comments, the Markdown export and the
print page, the settings; hostile Markdown (script, event handlers, javascript: and
data: links, SVG, entities) never reaches the page as markup."""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser

import pytest
from django.test import Client

from tests.learning.postmortem_helpers import seeded
from tocsin.accounts.models import Role, User
from tocsin.catalog.models import Service
from tocsin.core.actors import Actor
from tocsin.incidents.models import EntryKind, Incident, TimelineEntry
from tocsin.incidents.services import incident_resolve
from tocsin.learning import postmortems
from tocsin.learning.models import (
    ActionItem,
    Postmortem,
    PostmortemSettings,
    ServicePostmortemRule,
)

HOSTILE = "\n\n".join(
    [
        "<script>alert('s')</script>",
        '<img src=x onerror="alert(1)">',
        "[click](javascript:alert(2))",
        "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgzKTwvc2NyaXB0Pg==)",
        "[entity](jav&#x61;script:alert(4))",
        "[upper](JaVaScRiPt:alert(5))",
        '<svg onload="alert(6)"><circle r="1"/></svg>',
        "&lt;script&gt;alert(7)&lt;/script&gt;",
        '<a href="javascript:alert(8)" onclick="alert(9)">raw link</a>',
        "**fine** and [ok](https://example.com)",
    ]
)


@pytest.fixture
def people(make_user: Callable[..., User]) -> dict[str, User]:
    seeded()
    return {
        "reporter": make_user(Role.REPORTER, username="rita"),
        "agent": make_user(Role.AGENT, username="alice", name="Alice Agent"),
        "admin": make_user(Role.ADMIN, username="ada"),
    }


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _postmortem(people: dict[str, User], make_incident: Callable[..., Incident]) -> Postmortem:
    incident = make_incident(people["reporter"], title="Mail is slow")
    return postmortems.postmortem_create(incident=incident, actor=Actor.for_user(people["agent"]))


class _Tags(HTMLParser):
    """Every real tag and attribute of a page (text that merely looks like a tag is text)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def _assert_harmless(html: str) -> None:
    parser = _Tags()
    parser.feed(html.split("<main", 1)[1])
    for tag, attrs in parser.tags:
        assert tag not in ("script", "svg", "img", "iframe", "object"), tag
        for name, value in attrs:
            assert not name.startswith("on"), (tag, name)
            if name in ("href", "src", "action"):
                target = re.sub(r"\s", "", value or "").lower()
                assert not target.startswith(("javascript:", "data:", "vbscript:")), value


def test_reporters_get_404_on_every_page(
    people: dict[str, User], make_incident: Callable[..., Incident]
) -> None:
    pm = _postmortem(people, make_incident)
    rita = _client(people["reporter"])
    for url in (
        "/postmortems/",
        f"/postmortems/{pm.pk}/",
        f"/postmortems/{pm.pk}/edit/",
        f"/postmortems/{pm.pk}/export.md",
        f"/postmortems/{pm.pk}/print/",
        "/settings/postmortems/",
        "/settings/postmortems/templates/new/",
    ):
        assert rita.get(url).status_code == 404, url
    for url, data in (
        ("/postmortems/new/", {"incident": pm.incident.ref}),
        (f"/postmortems/{pm.pk}/move/", {"to": "in_review"}),
        (f"/postmortems/{pm.pk}/comments/", {"body": "hi"}),
        (f"/postmortems/{pm.pk}/edit/", {"title": "x"}),
    ):
        assert rita.post(url, data).status_code == 404, url
    # her own incident's page has no postmortem section
    page = rita.get(f"/incidents/{pm.incident.ref}/")
    assert page.status_code == 200
    assert b"Postmortem" not in page.content
    assert Postmortem.objects.get(pk=pm.pk).status == "draft"
    # staff but not administrators: the settings are not there
    assert _client(people["agent"]).get("/settings/postmortems/").status_code == 404


def test_write_postmortem_button_then_edit_review_publish(
    people: dict[str, User], make_incident: Callable[..., Incident]
) -> None:
    alice = _client(people["agent"])
    incident = make_incident(people["reporter"], title="Printer queue stuck")
    page = alice.get(f"/incidents/{incident.ref}/").content.decode()
    assert "Write postmortem" in page
    assert alice.post("/postmortems/new/", {"incident": "INC-x"}).status_code == 404
    made = alice.post("/postmortems/new/", {"incident": incident.ref, "template": "abc"})
    pm = Postmortem.objects.get(incident=incident)
    assert made.status_code == 302 and made["Location"] == f"/postmortems/{pm.pk}/"
    assert alice.post("/postmortems/new/", {"incident": incident.ref}).status_code == 302
    assert Postmortem.objects.filter(incident=incident).count() == 1
    detail = alice.get(f"/postmortems/{pm.pk}/").content.decode()
    assert "This review is blameless" in detail
    assert "Send for review" in detail and "Publish" not in detail
    section = alice.get(f"/incidents/{incident.ref}/").content.decode()
    assert "Write postmortem" not in section and 'pm-status-draft">Draft' in section

    edit = alice.post(
        f"/postmortems/{pm.pk}/edit/",
        {
            "title": "Printer queue review",
            "owner": people["agent"].pk,
            "due_at": "",
            "markdown": "# Review\n\nRoot cause: spooler.",
        },
    )
    assert edit.status_code == 302
    pm.refresh_from_db()
    assert (pm.title, pm.owner_id, pm.due_at) == ("Printer queue review", people["agent"].pk, None)
    bad = alice.post(f"/postmortems/{pm.pk}/edit/", {"title": "", "markdown": "x"})
    assert bad.status_code == 422
    assert alice.post(f"/postmortems/{pm.pk}/move/", {"to": "in_review"}).status_code == 302
    assert (
        alice.post(f"/postmortems/{pm.pk}/comments/", {"body": "Looks *good*"}).status_code == 302
    )
    assert alice.post(f"/postmortems/{pm.pk}/comments/", {"body": ""}).status_code == 422
    page = alice.get(f"/postmortems/{pm.pk}/").content.decode()
    assert "Looks <em>good</em>" in page
    assert alice.post(f"/postmortems/{pm.pk}/move/", {"to": "published"}).status_code == 302
    pm.refresh_from_db()
    assert pm.status == "published" and pm.completed_at is not None
    refused = alice.post(f"/postmortems/{pm.pk}/move/", {"to": "draft"}, follow=True)
    assert "allowed: nothing" in refused.content.decode()
    assert f"/postmortems/{pm.pk}/edit/" not in alice.get(f"/postmortems/{pm.pk}/").content.decode()
    late = alice.post(f"/postmortems/{pm.pk}/edit/", {"title": "Changed", "markdown": "x"})
    assert late.status_code == 302
    assert Postmortem.objects.get(pk=pm.pk).title == "Printer queue review"
    texts = list(
        TimelineEntry.objects.filter(incident=incident, kind=EntryKind.POSTMORTEM).values_list(
            "text", flat=True
        )
    )
    assert texts[0].startswith("Postmortem drafted (started by hand)")
    assert "Postmortem published." in texts
    listed = alice.get("/postmortems/", {"status": "published"}).content.decode()
    assert "Printer queue review" in listed


def test_hostile_markdown_and_titles_are_harmless(
    people: dict[str, User], make_incident: Callable[..., Incident]
) -> None:
    incident = make_incident(
        people["reporter"],
        title="<script>alert('t')</script> [x](javascript:alert(1))",
        description='<img src=x onerror="alert(1)"> [d](data:text/html,hi)',
    )
    pm = postmortems.postmortem_create(incident=incident, actor=Actor.for_user(people["agent"]))
    postmortems.postmortem_edit(
        postmortem=pm, actor=Actor.for_user(people["agent"]), markdown=pm.markdown + HOSTILE
    )
    postmortems.postmortem_comment_add(
        postmortem=pm, actor=Actor.for_user(people["agent"]), body=HOSTILE
    )
    alice = _client(people["agent"])
    for url in (f"/postmortems/{pm.pk}/", f"/postmortems/{pm.pk}/print/", "/postmortems/"):
        html = alice.get(url).content.decode()
        _assert_harmless(html)
    page = alice.get(f"/postmortems/{pm.pk}/").content.decode()
    # the text is still there, as text; the safe parts still render
    assert "&lt;script&gt;alert(&#x27;s&#x27;)&lt;/script&gt;" in page or "&lt;script&gt;" in page
    assert "<strong>fine</strong>" in page
    assert 'href="https://example.com"' in page
    assert 'rel="noopener noreferrer nofollow"' in page
    section = alice.get(f"/incidents/{incident.ref}/").content.decode()
    start = section.index('<section class="card pm-section"')
    _assert_harmless("<main>" + section[start : section.index("</section>", start)])
    assert "&lt;script&gt;" in section[start:]


def test_export_markdown_and_print_page(
    people: dict[str, User], make_incident: Callable[..., Incident]
) -> None:
    pm = _postmortem(people, make_incident)
    alice = _client(people["agent"])
    export = alice.get(f"/postmortems/{pm.pk}/export.md")
    assert export.status_code == 200
    assert export["Content-Type"] == "text/markdown; charset=utf-8"
    assert export["Content-Disposition"] == (
        f'attachment; filename="postmortem-{pm.incident.ref.lower()}.md"'
    )
    assert export.content.decode() == pm.markdown
    printed = alice.get(f"/postmortems/{pm.pk}/print/")
    assert printed.status_code == 200
    html = printed.content.decode()
    assert 'class="pm-print"' in html and "<h1>Postmortem: " in html
    assert "topbar" not in html  # the document alone
    ActionItem.objects.create(postmortem=pm, title="Alert on <queue> depth", status="done")
    html = alice.get(f"/postmortems/{pm.pk}/print/").content.decode()
    assert "Alert on &lt;queue&gt; depth — Done" in html


def test_settings_page_saves_rules_and_service_overrides(
    people: dict[str, User], make_incident: Callable[..., Incident]
) -> None:
    ada = _client(people["admin"])
    page = ada.get("/settings/postmortems/")
    assert page.status_code == 200 and "Blameless postmortem" in page.content.decode()
    saved = ada.post(
        "/settings/postmortems/",
        {"form": "settings", "required_priorities": ["1"], "due_days": "7", "default_template": ""},
    )
    assert saved.status_code == 302
    row = PostmortemSettings.objects.get(pk=1)
    assert (row.required_priorities, row.due_days) == ([1], 7)
    bad = ada.post("/settings/postmortems/", {"form": "settings", "due_days": "0"})
    assert bad.status_code == 422
    service = Service.objects.create(name="Mail")
    ada.post(
        "/settings/postmortems/",
        {"form": "rule", "rule-service": service.pk, "rule-required_priorities": ["1", "2", "3"]},
    )
    assert ServicePostmortemRule.objects.get(service=service).required_priorities == [1, 2, 3]
    agent = people["agent"]
    p3 = make_incident(agent, title="P3 mail", impact=3, urgency=3, service=service)
    incident_resolve(
        incident=p3, actor=Actor.for_user(agent), resolution_code="fixed", resolution_notes="ok"
    )
    assert Postmortem.objects.filter(incident=p3, required=True).exists()
    odd = ada.post("/settings/postmortems/", {"form": "remove", "service": "x"})
    assert odd.status_code == 404
    ada.post("/settings/postmortems/", {"form": "remove", "service": service.pk})
    assert not ServicePostmortemRule.objects.filter(service=service).exists()
    # templates: a new one, an unknown placeholder refused
    refused = ada.post(
        "/settings/postmortems/templates/new/", {"name": "Short", "body": "{ref} {nope}"}
    )
    assert refused.status_code == 422 and "{nope}" in refused.content.decode()
    made = ada.post("/settings/postmortems/templates/new/", {"name": "Short", "body": "# {ref}"})
    assert made.status_code == 302
