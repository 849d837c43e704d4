"""The knowledge base on the web: /kb/ and the article pages per role (a reporter never
sees an internal article: list, page, history, suggestions, counts), the edit form and
its history, archive, the suggestion JSON, the incident page's section and "this article
solved it" (POST only, CSRF), and Markdown rendered safely on the page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from tocsin.accounts.models import User
from tocsin.core.actors import Actor
from tocsin.incidents.models import EntryKind, TimelineEntry
from tocsin.learning import article_selectors, articles
from tocsin.learning.models import Article, ArticleSolution, ArticleVersion

pytestmark = pytest.mark.django_db


def signed_in(user: User, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


def write(
    author: User, title: str, body: str = "", visibility: str = "internal", tags: str = ""
) -> Article:
    return articles.article_create(
        actor=Actor.for_user(author),
        fields=articles.check_fields(title=title, body=body, visibility=visibility, tags=tags),
    )


def html(reply: Any) -> str:
    return str(reply.content.decode())


@pytest.fixture
def kb(agent: User) -> dict[str, Article]:
    return {
        "public": write(
            agent, "Printer shows paper jam", "Open tray 2 and pull the sheet.", "public", "printer"
        ),
        "internal": write(
            agent,
            "Printer firmware rollback",
            "Use the printer admin console. Password in vault.",
            "internal",
            "printer ops",
        ),
    }


def test_the_list_and_the_pages_per_role(
    kb: dict[str, Article], agent: User, reporter: User
) -> None:
    staff = signed_in(agent)
    page = html(staff.get("/kb/"))
    assert "Printer shows paper jam" in page and "Printer firmware rollback" in page
    assert "New article" in page and "2 articles" in page
    assert staff.get(f"/kb/{kb['internal'].pk}/").status_code == 200

    rita = signed_in(reporter)
    page = html(rita.get("/kb/"))
    assert "Printer shows paper jam" in page and "firmware" not in page
    assert "1 article" in page and "New article" not in page
    page = html(rita.get("/kb/", {"q": "printer"}))
    assert "1 article matches" in page and "firmware" not in page
    assert "firmware" not in html(rita.get("/kb/", {"q": "vault"}))
    assert "0 articles match" in html(rita.get("/kb/", {"q": "vault"}))
    assert "firmware" not in html(rita.get("/kb/", {"tag": "ops", "visibility": "internal"}))
    assert rita.get(f"/kb/{kb['internal'].pk}/").status_code == 404
    assert rita.get(f"/kb/{kb['internal'].pk}/versions/1/").status_code == 404
    assert rita.get(f"/kb/{kb['internal'].pk}/edit/").status_code == 404
    assert rita.get(f"/kb/{kb['public'].pk}/edit/").status_code == 404
    assert rita.get("/kb/new/").status_code == 404
    assert rita.post(f"/kb/{kb['public'].pk}/archive/").status_code == 404
    page = html(rita.get(f"/kb/{kb['public'].pk}/"))
    assert "Open tray 2" in page and "Edit" not in page and "Archive" not in page
    # anonymous visitors sign in first
    assert Client().get("/kb/").status_code == 302
    assert Client().get("/kb/suggest/", {"q": "printer"}).status_code == 302


def test_staff_write_edit_and_read_the_history(agent: User, manager: User) -> None:
    staff = signed_in(agent)
    reply = staff.post(
        "/kb/new/",
        {
            "title": "Wi-Fi guest access",
            "body": "Join **Guest**.",
            "visibility": "public",
            "tags": "wifi, guest",
            "note": "",
        },
    )
    article = Article.objects.get(title="Wi-Fi guest access")
    assert reply.status_code == 302 and reply["Location"] == f"/kb/{article.pk}/"
    assert article.tags == "wifi guest"
    form = html(staff.get(f"/kb/{article.pk}/edit/"))
    assert 'name="version" value="1"' in form
    reply = signed_in(manager).post(
        f"/kb/{article.pk}/edit/",
        {
            "title": "Wi-Fi guest access",
            "body": "Join **Guest-2**.",
            "visibility": "public",
            "tags": "wifi",
            "note": "New SSID",
            "version": "1",
        },
    )
    assert reply.status_code == 302
    # a second edit from the old form: refused, nothing lost
    stale = staff.post(
        f"/kb/{article.pk}/edit/",
        {"title": "Wi-Fi", "body": "old", "visibility": "public", "tags": "", "version": "1"},
    )
    assert stale.status_code == 422 and "changed since version 1" in html(stale)
    page = html(staff.get(f"/kb/{article.pk}/"))
    assert "<strong>Guest-2</strong>" in page and "Version 2" in page and "New SSID" in page
    old = html(staff.get(f"/kb/{article.pk}/versions/1/"))
    assert "<strong>Guest</strong>" in old and "You are reading version 1 of 2" in old
    assert staff.get(f"/kb/{article.pk}/versions/3/").status_code == 404
    # bad input: the form again, with the field named
    bad = staff.post("/kb/new/", {"title": "", "visibility": "public", "tags": "no<tags>"})
    assert bad.status_code == 422 and "The article was not saved" in html(bad)
    bad = staff.post("/kb/new/", {"title": "T", "visibility": "public", "tags": "bad/tag"})
    assert bad.status_code == 422 and "Tags" in html(bad)
    assert Article.objects.count() == 1 and ArticleVersion.objects.count() == 2
    # archive: gone from the list, kept with its history; restore
    staff.post(f"/kb/{article.pk}/archive/", {"archived": "1"})
    assert "Wi-Fi guest" not in html(staff.get("/kb/"))
    assert "Wi-Fi guest" in html(staff.get("/kb/", {"archived": "1"}))
    staff.post(f"/kb/{article.pk}/archive/", {"archived": "0"})
    assert "Wi-Fi guest" in html(staff.get("/kb/"))
    # GET never changes anything
    assert staff.get(f"/kb/{article.pk}/archive/").status_code == 405


def test_markdown_on_the_page_is_safe(agent: User, reporter: User) -> None:
    article = write(
        agent,
        "<script>alert('title')</script>",
        '<script>alert(1)</script> <b onmouseover="alert(2)">x</b> '
        "[a](javascript:alert(3)) [b](data:text/html,<script>alert(4)</script>) "
        "<svg/onload=alert(5)> &#x3C;script&#x3E;",
        "public",
    )
    for client in (signed_in(agent), signed_in(reporter)):
        page = html(client.get(f"/kb/{article.pk}/"))
        body = page[page.index('class="card prose kb-body"') :]
        body = body[: body.index("</article>")]
        assert not re.search(r"<(script|svg|b)\b", body), body
        assert "javascript:" not in re.findall(r'href="([^"]*)"', body).__str__()
        assert "data:" not in re.findall(r'href="([^"]*)"', body).__str__()
        assert "<script>alert('title')" not in page
        assert "&lt;script&gt;alert(&#x27;title&#x27;)" in page


def test_suggestions_json_is_public_only_for_reporters(
    kb: dict[str, Article], agent: User, reporter: User
) -> None:
    staff = signed_in(agent).get("/kb/suggest/", {"q": "printer fir"}).json()
    assert staff["items"][0]["title"] == "Printer firmware rollback"
    assert {i["title"] for i in staff["items"]} == {
        "Printer firmware rollback",
        "Printer shows paper jam",
    }
    mine = signed_in(reporter).get("/kb/suggest/", {"q": "printer fir"}).json()
    assert [i["title"] for i in mine["items"]] == ["Printer shows paper jam"]
    assert mine["items"][0]["url"] == f"/kb/{kb['public'].pk}/"
    assert mine["items"][0]["snippet"] == "Open tray 2 and pull the sheet."
    assert signed_in(reporter).get("/kb/suggest/", {"q": "vault"}).json() == {"items": []}
    for text in ['"', "*", "(", "' OR 1=1 --", ""]:
        assert signed_in(reporter).get("/kb/suggest/", {"q": text}).status_code == 200


def test_suggestions_put_the_articles_holding_every_word_first(
    agent: User, reporter: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Suggestions rank at most SUGGEST_MAX (100) matches: with a word most articles hold,
    the one that also holds what is being typed is still found, and comes first."""
    monkeypatch.setattr(article_selectors, "SUGGEST_MAX", 2)
    for n in range(4):
        write(agent, f"Printer jams on floor {n}", "Open the tray.", "public")
    wanted = write(agent, "Printer zebra stripes", "Clean the drum.", "public")
    found = signed_in(reporter).get("/kb/suggest/", {"q": "printer zebr"}).json()["items"]
    assert found[0]["title"] == wanted.title and len(found) == 2
    # stop words are not words to hold ("the" is in every article here)
    found = signed_in(reporter).get("/kb/suggest/", {"q": "the printer zebr"}).json()["items"]
    assert found[0]["title"] == wanted.title


def test_the_incident_page_suggests_and_records_solved_it(
    kb: dict[str, Article], agent: User, reporter: User, make_incident: Any
) -> None:
    incident = make_incident(
        reporter, title="Printer says paper jam", description="Second floor printer"
    )
    rita = signed_in(reporter, csrf=True)
    page = html(rita.get(f"/incidents/{incident.ref}/"))
    assert 'id="h-kb"' in page and "Printer shows paper jam" in page
    assert "firmware" not in page
    assert "This article solved it" in page
    staff_page = html(signed_in(agent).get(f"/incidents/{incident.ref}/"))
    assert "Printer firmware rollback" in staff_page and "Printer shows paper jam" in staff_page

    url = f"/incidents/{incident.ref}/articles/{kb['public'].pk}/solved/"
    assert rita.get(url).status_code == 405  # GET changes nothing
    assert rita.post(url).status_code == 403  # no CSRF token
    assert not ArticleSolution.objects.exists()
    rita = signed_in(reporter)
    assert rita.post(url).status_code == 302
    assert rita.post(url).status_code == 302  # said once; the second time a message
    assert ArticleSolution.objects.filter(incident=incident).count() == 1
    entry = TimelineEntry.objects.get(incident=incident, kind=EntryKind.ARTICLE)
    assert entry.visibility == "public"
    page = html(rita.get(f"/incidents/{incident.ref}/"))
    assert "Solved it" in page
    # the article's page tells staff which incidents it solved; the reporter, nothing
    solved = html(signed_in(agent).get(f"/kb/{kb['public'].pk}/"))
    assert "Solved 1 incident" in solved and incident.ref in solved
    assert "Solved 1 incident" not in html(rita.get(f"/kb/{kb['public'].pk}/"))
    # the internal article cannot be named by the reporter
    assert (
        rita.post(f"/incidents/{incident.ref}/articles/{kb['internal'].pk}/solved/").status_code
        == 404
    )
    assert ArticleSolution.objects.count() == 1


def test_the_new_incident_forms_carry_the_suggestion_box(agent: User, reporter: User) -> None:
    for client, path in ((signed_in(reporter), "/portal/"), (signed_in(agent), "/incidents/new/")):
        page = html(client.get(path))
        assert 'data-kb-suggest="/kb/suggest/"' in page
        assert "tocsin/js/kb-suggest" in page
