"""The knowledge base through /api/v1/articles: per-role access (a reporter never reads,
finds or counts an internal article), search on the real index, bad input, versions and
"this article solved it"."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import pytest

from tocsin.accounts.models import Role
from tocsin.catalog.models import Category, Service
from tocsin.incidents.models import EntryKind, TimelineEntry
from tocsin.learning import article_selectors, fts
from tocsin.learning.models import Article, ArticleSolution, ArticleVersion

pytestmark = pytest.mark.django_db


def _create(client: Any, **body: Any) -> dict[str, Any]:
    body.setdefault("title", "An article")
    reply = client.post("/api/v1/articles", body)
    assert reply.status_code == 201, reply.content
    return dict(reply.json())


@pytest.fixture
def kb(api: Any, agent: Any) -> dict[str, Any]:
    staff = api(agent)
    vpn = Service.objects.create(name="VPN")
    mail = Service.objects.create(name="Mail")
    network = Category.objects.create(name="Network")
    public = _create(
        staff,
        title="VPN disconnects every hour",
        body="Reconnect the client, then **update** it.",
        visibility="public",
        tags=["vpn", "network"],
        services=[vpn.pk],
        categories=[network.pk],
    )
    internal = _create(
        staff,
        title="VPN concentrator failover",
        body="Fail over to the standby concentrator: `vpnctl failover`. Secret runbook.",
        visibility="internal",
        tags=["vpn", "ops_only"],
        services=[vpn.pk],
    )
    mailbox = _create(
        staff,
        title="Mailbox full",
        body="Archive old mail to free space. The VPN is not involved.",
        visibility="public",
        tags=["mail"],
        services=[mail.pk],
    )
    return {
        "staff": staff,
        "public": public,
        "internal": internal,
        "mail": mailbox,
        "vpn": vpn,
        "network": network,
    }


def _titles(reply: Any) -> list[str]:
    assert reply.status_code == 200, reply.content
    return [i["title"] for i in reply.json()["items"]]


# --- access per role --------------------------------------------------------------------


def test_staff_read_everything_and_reporters_only_public_articles(
    kb: dict[str, Any], api: Any, reporter: Any, make_user: Any
) -> None:
    staff = kb["staff"]
    everything = staff.get("/api/v1/articles").json()
    assert everything["count"] == 3
    assert staff.get(f"/api/v1/articles/{kb['internal']['id']}").status_code == 200
    for role in (Role.RESPONDER, Role.MANAGER, Role.ADMIN):
        assert (
            api(make_user(role)).get(f"/api/v1/articles/{kb['internal']['id']}").status_code == 200
        )

    rita = api(reporter)
    listed = rita.get("/api/v1/articles").json()
    assert listed["count"] == 2
    assert {i["title"] for i in listed["items"]} == {"VPN disconnects every hour", "Mailbox full"}
    # the internal one does not exist for a reporter: page, versions, search, counts
    assert rita.get(f"/api/v1/articles/{kb['internal']['id']}").status_code == 404
    assert rita.get(f"/api/v1/articles/{kb['internal']['id']}/versions").status_code == 404
    assert rita.get(f"/api/v1/articles/{kb['internal']['id']}").json() == rita.get(
        "/api/v1/articles/999999"
    ).json() | {"detail": f"no article {kb['internal']['id']}"}
    found = rita.get("/api/v1/articles", {"q": "concentrator"}).json()
    assert found == {"items": [], "count": 0}
    assert rita.get("/api/v1/articles", {"q": "vpn"}).json()["count"] == 2  # not 3
    assert rita.get("/api/v1/articles", {"visibility": "internal"}).json()["count"] == 0
    assert rita.get("/api/v1/articles", {"tag": "ops_only"}).json()["count"] == 0
    assert rita.get("/api/v1/articles", {"service": kb["vpn"].pk}).json()["count"] == 1
    # a reporter reads no staff names
    got = rita.get(f"/api/v1/articles/{kb['public']['id']}").json()
    assert got["created_by"] is None and got["updated_by"] is None
    assert staff.get(f"/api/v1/articles/{kb['public']['id']}").json()["created_by"] == "alice"


def test_reporters_cannot_write_and_archived_articles_vanish_for_them(
    kb: dict[str, Any], api: Any, reporter: Any
) -> None:
    rita = api(reporter)
    assert rita.post("/api/v1/articles", {"title": "Mine"}).status_code == 403
    assert rita.patch(f"/api/v1/articles/{kb['public']['id']}", {"title": "x"}).status_code == 403
    assert rita.patch(f"/api/v1/articles/{kb['internal']['id']}", {"title": "x"}).status_code == 404
    assert Article.objects.filter(title__in=["Mine", "x"]).count() == 0

    staff = kb["staff"]
    archived = staff.patch(f"/api/v1/articles/{kb['public']['id']}", {"archived": True}).json()
    assert archived["archived"] is True and archived["version"] == 1
    assert rita.get(f"/api/v1/articles/{kb['public']['id']}").status_code == 404
    assert rita.get("/api/v1/articles", {"q": "reconnect"}).json()["count"] == 0
    assert rita.get("/api/v1/articles", {"archived": "true"}).json()["count"] == 0
    assert staff.get("/api/v1/articles").json()["count"] == 2
    assert _titles(staff.get("/api/v1/articles", {"archived": "true"})) == [
        "VPN disconnects every hour"
    ]
    restored = staff.patch(f"/api/v1/articles/{kb['public']['id']}", {"archived": False})
    assert restored.json()["archived"] is False
    assert rita.get(f"/api/v1/articles/{kb['public']['id']}").status_code == 200


# --- filters and search ---------------------------------------------------------------------


def test_filters_and_paging(kb: dict[str, Any]) -> None:
    staff = kb["staff"]
    assert _titles(staff.get("/api/v1/articles", {"tag": "vpn"})) == [
        "VPN concentrator failover",
        "VPN disconnects every hour",
    ]
    assert _titles(staff.get("/api/v1/articles", {"tag": "ops_only"})) == [
        "VPN concentrator failover"
    ]
    assert _titles(staff.get("/api/v1/articles", {"tag": "ops"})) == []  # whole tags only
    assert _titles(staff.get("/api/v1/articles", {"category": kb["network"].pk})) == [
        "VPN disconnects every hour"
    ]
    assert _titles(staff.get("/api/v1/articles", {"visibility": "internal"})) == [
        "VPN concentrator failover"
    ]
    assert _titles(staff.get("/api/v1/articles", {"q": "vpn", "visibility": "public"})) == [
        "VPN disconnects every hour",
        "Mailbox full",
    ]
    # the same filters on a search (they join the full-text query)
    assert _titles(staff.get("/api/v1/articles", {"q": "vpn", "tag": "ops_only"})) == [
        "VPN concentrator failover"
    ]
    assert _titles(staff.get("/api/v1/articles", {"q": "vpn", "tag": "ops%"})) == []
    assert _titles(staff.get("/api/v1/articles", {"q": "vpn", "tag": "ops_onl_"})) == []
    assert _titles(staff.get("/api/v1/articles", {"q": "vpn", "category": kb["network"].pk})) == [
        "VPN disconnects every hour"
    ]
    by_service = _titles(staff.get("/api/v1/articles", {"q": "vpn", "service": kb["vpn"].pk}))
    assert sorted(by_service) == ["VPN concentrator failover", "VPN disconnects every hour"]
    page = staff.get("/api/v1/articles", {"limit": 1, "offset": 1}).json()
    assert page["count"] == 3 and [i["title"] for i in page["items"]] == [
        "VPN concentrator failover"
    ]
    searched = staff.get("/api/v1/articles", {"q": "vpn", "limit": 1, "offset": 2}).json()
    assert searched["count"] == 3 and len(searched["items"]) == 1


def test_search_ranks_title_first_stems_phrases_and_takes_any_text(kb: dict[str, Any]) -> None:
    staff = kb["staff"]
    # "vpn" is in two titles and one body: the titles come first
    ranked = _titles(staff.get("/api/v1/articles", {"q": "vpn"}))
    assert ranked[-1] == "Mailbox full" and len(ranked) == 3
    hit = staff.get("/api/v1/articles", {"q": "vpn"}).json()["items"][0]
    assert hit["score"] > 0 and hit["snippet"]
    # stemming both ways: "disconnecting" finds "disconnects", "updates" finds "update"
    assert _titles(staff.get("/api/v1/articles", {"q": "disconnecting"})) == [
        "VPN disconnects every hour"
    ]
    assert _titles(staff.get("/api/v1/articles", {"q": "updates"})) == [
        "VPN disconnects every hour"
    ]
    # a phrase: the words side by side, in order
    assert _titles(staff.get("/api/v1/articles", {"q": '"free space"'})) == ["Mailbox full"]
    assert _titles(staff.get("/api/v1/articles", {"q": '"space free"'})) == []
    # every word must match
    assert _titles(staff.get("/api/v1/articles", {"q": "vpn mailbox"})) == ["Mailbox full"]
    # nothing typed breaks the query (each a 200; no words: nothing found)
    for text in [
        '"',
        "'",
        "OR",
        "NOT vpn",
        "*",
        "a:b",
        "(",
        "\\",
        "-vpn",
        "NEAR(a b)",
        "vpn & | ! <->",
        "%",
        "_",
        "'; DROP TABLE learning_article; --",
        "vpn:*",
    ]:
        reply = staff.get("/api/v1/articles", {"q": text})
        assert reply.status_code == 200, (text, reply.content)
    assert staff.get("/api/v1/articles", {"q": "%"}).json() == {"items": [], "count": 0}
    assert _titles(staff.get("/api/v1/articles", {"q": "-vpn"}))[0].startswith("VPN")
    assert Article.objects.count() == 3


def test_a_search_of_very_common_words_ranks_and_counts_a_bounded_set(
    api: Any, agent: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A word in more articles than the search ranks (SEARCH_MAX, 500) counts that many
    and ranks those; another word narrows it to the one wanted. Likewise a phrase whose
    words are both in more articles than fts.PHRASE_ROWS (1,000) is looked for in that
    many of them; a further word finds the rest."""
    monkeypatch.setattr(article_selectors, "SEARCH_MAX", 3)
    monkeypatch.setattr(fts, "PHRASE_ROWS", 3)
    staff = api(agent)
    for n in range(5):
        _create(staff, title=f"Disk full on host {n}", body="Free space: remove old logs.")
    wanted = _create(staff, title="Disk full on the zebra host", body="Remove old logs.")
    found = staff.get("/api/v1/articles", {"q": "disk"}).json()
    assert found["count"] == 3 and len(found["items"]) == 3
    assert _titles(staff.get("/api/v1/articles", {"q": "disk zebra"})) == [wanted["title"]]
    # the phrase is in all six: looked for in three of them
    monkeypatch.setattr(article_selectors, "SEARCH_MAX", 500)
    assert staff.get("/api/v1/articles", {"q": '"old logs"'}).json()["count"] == 3
    assert _titles(staff.get("/api/v1/articles", {"q": '"old logs" zebra'})) == [wanted["title"]]
    assert _titles(staff.get("/api/v1/articles", {"q": '"zebra host"'})) == [wanted["title"]]
    # words held by no more articles than the bound: the phrase is found wherever it is
    monkeypatch.setattr(fts, "PHRASE_ROWS", 6)
    assert staff.get("/api/v1/articles", {"q": '"old logs"'}).json()["count"] == 6


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "title"),
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "ok", "visibility": "secret"}, "visibility"),
        ({"title": "ok", "tags": ["no spaces allowed"]}, "tags"),
        ({"title": "ok", "tags": ["<b>"]}, "tags"),
        ({"title": "ok", "services": [999999]}, "services"),
        ({"title": "ok", "services": ["1"]}, "services"),
        ({"title": "ok", "categories": [999999]}, "categories"),
        ({"title": "bad\x00"}, "title"),
        ({"title": "ok", "colour": "red"}, "colour"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(
    api: Any, agent: Any, body: dict[str, Any], field: str
) -> None:
    reply = api(agent).post("/api/v1/articles", body)
    assert reply.status_code == 422, reply.content
    detail = reply.json()["detail"]
    assert any(field in [str(p) for p in d["loc"]] for d in detail), detail
    assert Article.objects.count() == 0


def test_bad_queries_and_ids(kb: dict[str, Any]) -> None:
    staff = kb["staff"]
    assert staff.get("/api/v1/articles", {"limit": 501}).status_code == 422
    assert staff.get("/api/v1/articles", {"visibility": "secret"}).status_code == 422
    assert staff.get("/api/v1/articles", {"service": "abc"}).status_code == 422
    assert staff.get("/api/v1/articles", {"q": "x" * 501}).status_code == 422
    assert staff.get("/api/v1/articles/0").status_code == 422
    assert staff.get(f"/api/v1/articles/{2**60}").status_code == 422
    assert staff.get("/api/v1/articles/424242").status_code == 404
    reply = staff.patch(f"/api/v1/articles/{kb['public']['id']}", {"title": ""})
    assert reply.status_code == 422
    assert Article.objects.get(pk=kb["public"]["id"]).title == "VPN disconnects every hour"


# --- versions -------------------------------------------------------------------------------


def test_every_save_is_a_version_and_a_stale_edit_is_refused(
    kb: dict[str, Any], api: Any, manager: Any, reporter: Any
) -> None:
    staff = kb["staff"]
    url = f"/api/v1/articles/{kb['public']['id']}"
    first = staff.patch(url, {"body": "Reconnect, then restart.", "note": "Shorter", "version": 1})
    assert first.status_code == 200 and first.json()["version"] == 2
    second = api(manager).patch(url, {"title": "VPN drops hourly", "tags": ["VPN", "vpn", "wifi"]})
    assert second.json()["version"] == 3 and second.json()["tags"] == ["vpn", "wifi"]
    # nothing changed: no new version
    assert staff.patch(url, {"title": "VPN drops hourly"}).json()["version"] == 3
    # an edit based on version 2 is refused; nothing is written
    stale = staff.patch(url, {"body": "Lost update", "version": 2})
    assert stale.status_code == 409 and "version 3" in stale.json()["detail"]
    assert "Lost" not in Article.objects.get(pk=kb["public"]["id"]).body

    versions = staff.get(f"{url}/versions").json()
    assert versions["count"] == 3
    assert [(v["number"], v["title"], v["created_by"]) for v in versions["items"]] == [
        (3, "VPN drops hourly", "maya"),
        (2, "VPN disconnects every hour", "alice"),
        (1, "VPN disconnects every hour", "alice"),
    ]
    assert versions["items"][1]["note"] == "Shorter"
    assert versions["items"][2]["body"] == "Reconnect the client, then **update** it."

    # made public later: a reporter reads only the versions that were public
    internal = f"/api/v1/articles/{kb['internal']['id']}"
    staff.patch(internal, {"visibility": "public", "body": "Call the service desk."})
    rita = api(reporter)
    mine = rita.get(f"{internal}/versions").json()
    assert [v["number"] for v in mine["items"]] == [2] and mine["count"] == 1
    assert "vpnctl" not in str(mine)
    assert ArticleVersion.objects.filter(article_id=kb["internal"]["id"]).count() == 2


def test_create_honours_idempotency_key(api: Any, agent: Any) -> None:
    staff = api(agent)
    body = {"title": "Printer jams", "visibility": "public"}
    one = staff.post("/api/v1/articles", body, headers={"Idempotency-Key": "k1"})
    two = staff.post("/api/v1/articles", body, headers={"Idempotency-Key": "k1"})
    assert one.status_code == two.status_code == 201 and one.json() == two.json()
    assert Article.objects.count() == 1 and ArticleVersion.objects.count() == 1


# --- markdown ---------------------------------------------------------------------------------


def test_markdown_is_rendered_safely(api: Any, agent: Any) -> None:
    body = (
        "<script>alert(1)</script>\n\n"
        '<img src=x onerror="alert(2)">\n\n'
        "[click](javascript:alert(3)) [data](data:text/html;base64,PHNjcmlwdD4=)\n\n"
        "<svg onload=alert(4)><circle/></svg>\n\n"
        "&lt;script&gt;alert(5)&lt;/script&gt; &#106;avascript:alert(6)\n\n"
        "[ok](https://example.com) **bold**"
    )
    html = _create(api(agent), title="XSS", body=body)["html"]
    tags, attrs = parsed(html)
    assert tags <= {"p", "a", "strong"}, tags
    assert attrs == [("href", "https://example.com"), ("rel", "noopener noreferrer nofollow")]
    assert "<strong>bold</strong>" in html
    assert "&lt;script&gt;" in html  # shown as text, never run


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attrs: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attrs.extend(attrs)


def parsed(html: str) -> tuple[set[str], list[tuple[str, str | None]]]:
    """The elements and attributes a browser would build from `html`."""
    collect = _Collect()
    collect.feed(html)
    return collect.tags, collect.attrs


# --- this article solved it ----------------------------------------------------------------


def test_solved_it_by_the_reporter_and_by_staff(
    kb: dict[str, Any], api: Any, reporter: Any, make_incident: Any, make_user: Any
) -> None:
    incident = make_incident(reporter, title="VPN keeps dropping")
    rita = api(reporter)
    url = f"/api/v1/articles/{kb['public']['id']}/solved"
    reply = rita.post(url, {"incident": incident.ref})
    assert reply.status_code == 201, reply.content
    assert reply.json()["incident"] == incident.ref and reply.json()["by"] == "rita"
    again = rita.post(url, {"incident": str(incident.number)})
    assert again.status_code == 409
    assert ArticleSolution.objects.filter(incident=incident).count() == 1
    entry = TimelineEntry.objects.get(incident=incident, kind=EntryKind.ARTICLE)
    assert entry.visibility == "public" and "VPN disconnects every hour" in entry.text

    # the internal article: the reporter cannot name it; staff record it, internal entry
    assert (
        rita.post(
            f"/api/v1/articles/{kb['internal']['id']}/solved", {"incident": incident.ref}
        ).status_code
        == 404
    )
    staff = kb["staff"]
    assert (
        staff.post(
            f"/api/v1/articles/{kb['internal']['id']}/solved", {"incident": incident.ref}
        ).status_code
        == 201
    )
    entries = TimelineEntry.objects.filter(incident=incident, kind=EntryKind.ARTICLE)
    assert sorted(e.visibility for e in entries) == ["internal", "public"]

    # someone else's incident: a reporter cannot see it, so cannot name it
    other = make_user(Role.REPORTER)
    theirs = make_incident(other, title="Mail is slow")
    reply = rita.post(url, {"incident": theirs.ref})
    assert reply.status_code == 422 and reply.json()["detail"][0]["loc"][-1] == "incident"
    assert staff.post(url, {"incident": "INC-999999"}).status_code == 422
    assert staff.post(url, {"incident": "nonsense"}).status_code == 422
    assert not ArticleSolution.objects.filter(incident=theirs).exists()
    # archived articles solve nothing new
    staff.patch(f"/api/v1/articles/{kb['mail']['id']}", {"archived": True})
    reply = staff.post(f"/api/v1/articles/{kb['mail']['id']}/solved", {"incident": incident.ref})
    assert reply.status_code == 409


def test_a_title_outranks_a_body_that_repeats_the_word(api: Any, agent: Any, reporter: Any) -> None:
    staff = api(agent)
    body = "Toner, toner, toner: order toner early."
    _create(staff, title="Office supplies", body=body, visibility="public")
    _create(staff, title="Replace the toner", body="Open the front door.", visibility="public")
    _create(staff, title="Toner secrets", body="Internal supplier list.", visibility="internal")
    _create(staff, title="Toner recycling", body="Boxes by the lift.", visibility="public")
    ranked = _titles(staff.get("/api/v1/articles", {"q": "toner", "visibility": "internal"}))
    assert ranked == ["Toner secrets"]
    ranked = _titles(staff.get("/api/v1/articles", {"q": "toner"}))
    assert ranked[-1] == "Office supplies" and len(ranked) == 4
    # a reporter's search: the same order, without the internal article, counted without it
    mine = api(reporter).get("/api/v1/articles", {"q": "toner"}).json()
    assert mine["count"] == 3
    assert [i["title"] for i in mine["items"]] == [t for t in ranked if t != "Toner secrets"]
