"""The knowledge base in Chromium (issue 12, point 4): a reporter finds a public article
while filing a new incident in the portal and never sees an internal one, says "this
article solved it" on the incident; staff search, read, edit and read the history. At
desktop and phone widths, with screenshots of every knowledge-base page."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tocsin.accounts.models import Role, User
from tocsin.core.actors import Actor
from tocsin.learning import articles
from tocsin.learning.models import Article, ArticleSolution

from .a11y import axe_violations
from .conftest import Watched

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install '.[dev]')"
)
expect = sync_api.expect

SIZES = {"desktop": {"width": 1400, "height": 900}, "phone": {"width": 390, "height": 844}}


def _write(author: User, title: str, body: str, visibility: str, tags: str) -> Article:
    return articles.article_create(
        actor=Actor.for_user(author),
        fields=articles.check_fields(title=title, body=body, visibility=visibility, tags=tags),
    )


@pytest.fixture
def world(make_user: Callable[..., User]) -> dict[str, Article]:
    make_user(Role.REPORTER, username="rita", name="Rita Reporter")
    alice = make_user(Role.AGENT, username="alice", name="Alice Agent")
    public = _write(
        alice,
        "VPN disconnects every hour",
        "Your client is older than **9.2**:\n\n1. Open Software Center\n2. Install 9.2\n3. "
        "Restart\n\n| Client | Fix |\n| --- | --- |\n| 9.1 | update |\n\n`vpn --version`",
        "public",
        "vpn remote-access",
    )
    internal = _write(
        alice,
        "VPN concentrator failover",
        "Run `vpnctl failover gw-2` from the jump host.",
        "internal",
        "vpn ops",
    )
    _write(alice, "Mailbox full", "Archive old mail.", "public", "email")
    articles.article_edit(
        actor=Actor.for_user(alice),
        article=public,
        fields=articles.check_fields(
            title=public.title,
            body=public.body + "\n\nOn hotel Wi-Fi, accept the terms page first.",
            visibility="public",
            tags="vpn remote-access wifi",
        ),
        note="Hotel Wi-Fi",
    )
    return {"public": public, "internal": internal}


@pytest.mark.parametrize("size", SIZES)
def test_a_reporter_finds_a_public_article_while_filing(
    size: str, world: dict[str, Article], open_as: Callable[[str], Watched], shots: Path
) -> None:
    watched = open_as("rita")
    page = watched.page
    page.set_viewport_size(SIZES[size])
    page.goto("/portal/")
    box = page.locator(".kb-suggest")
    expect(box).to_be_hidden()
    page.get_by_label("What is wrong?").fill("My vpn keeps disconn")
    expect(box).to_be_visible()
    expect(box.get_by_role("link", name="VPN disconnects every hour")).to_be_visible()
    expect(box.get_by_role("link")).to_have_count(1)
    assert "concentrator" not in page.content()
    box.scroll_into_view_if_needed()
    page.screenshot(path=str(shots / f"{size}-1-portal-suggestions.png"))
    assert axe_violations(page) == []
    link = box.get_by_role("link", name="VPN disconnects every hour")
    assert link.get_attribute("href") == f"/kb/{world['public'].pk}/"
    # the description counts too; the internal article never appears, whatever is typed
    page.get_by_label("Details").fill("failover concentrator gw-2")
    page.wait_for_timeout(600)
    assert "concentrator failover" not in page.locator(".kb-suggest").inner_text()

    # file it; the incident page offers the article and "This article solved it"
    page.get_by_role("button", name="Send report").click()
    page.wait_for_load_state()
    section = page.locator("#kb")
    expect(section.get_by_role("link", name="VPN disconnects every hour")).to_be_visible()
    assert "VPN concentrator failover" not in page.content()
    assert "vpnctl" not in page.content()
    section.get_by_role("button", name="This article solved it").first.click()
    page.wait_for_load_state()
    expect(page.locator("#kb .kb-solved")).to_contain_text("VPN disconnects every hour")
    page.locator("#kb").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / f"{size}-2-incident-solved.png"))
    assert ArticleSolution.objects.count() == 1

    # the knowledge base as the reporter reads it: public articles only
    page.goto("/kb/")
    expect(page.locator(".kb-item")).to_have_count(2)
    assert "concentrator" not in page.content()
    page.screenshot(path=str(shots / f"{size}-3-reporter-kb.png"), full_page=True)
    hidden = page.goto(f"/kb/{world['internal'].pk}/")
    assert hidden is not None and hidden.status == 404
    assert "concentrator" not in page.content()
    watched.console_errors = [e for e in watched.console_errors if "404 (Not Found)" not in e]
    page.goto(f"/kb/{world['public'].pk}/")
    expect(page.locator(".kb-body strong")).to_have_text("9.2")
    page.screenshot(path=str(shots / f"{size}-4-reporter-article.png"), full_page=True)
    assert watched.problems() == []


@pytest.mark.parametrize("size", SIZES)
def test_staff_search_read_edit_and_history(
    size: str, world: dict[str, Article], open_as: Callable[[str], Watched], shots: Path
) -> None:
    watched = open_as("alice")
    page = watched.page
    page.set_viewport_size(SIZES[size])
    page.goto("/kb/")
    expect(page.locator(".kb-item")).to_have_count(3)
    page.screenshot(path=str(shots / f"{size}-1-kb.png"), full_page=True)
    assert axe_violations(page) == []
    page.get_by_label("Search the knowledge base").fill("vpn")
    page.get_by_role("button", name="Search").click()
    expect(page.locator(".kb-item")).to_have_count(2)
    expect(page.locator(".kb-item .kb-internal")).to_have_count(1)
    page.screenshot(path=str(shots / f"{size}-2-search.png"), full_page=True)
    page.get_by_role("link", name="VPN disconnects every hour").click()
    expect(page.get_by_role("heading", name="History")).to_be_visible()
    expect(page.locator(".kb-history li")).to_have_count(2)
    page.screenshot(path=str(shots / f"{size}-3-article.png"), full_page=True)
    assert axe_violations(page) == []
    page.get_by_role("link", name="Version 1").click()
    expect(page.locator(".kb-old-version")).to_contain_text("version 1 of 2")
    assert "hotel" not in page.locator(".kb-body").inner_text()
    page.screenshot(path=str(shots / f"{size}-4-old-version.png"), full_page=True)
    page.goto(f"/kb/{world['public'].pk}/edit/")
    page.get_by_label("Text").fill("Update the client to **9.3**.")
    page.get_by_label("What changed").fill("9.3 is out")
    page.screenshot(path=str(shots / f"{size}-5-edit.png"), full_page=True)
    assert axe_violations(page) == []
    page.get_by_role("button", name="Save new version").click()
    page.wait_for_load_state()
    expect(page.locator(".kb-body strong")).to_have_text("9.3")
    expect(page.locator(".kb-history li")).to_have_count(3)
    expect(page.locator(".kb-history")).to_contain_text("9.3 is out")
    assert watched.problems() == []
