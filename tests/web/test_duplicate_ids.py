"""No duplicate element ids on any page, for any role (issue 8, point 5).

A duplicate id leaves a field unlabelled for a screen reader and makes its label focus
another control. This reads the HTML every page answers (the crawl list of
tests/browser/pages.py, built from the URL conf, over the demo organisation) through
Django's test client: no browser, so it runs in seconds. The browser check
(tests/browser/test_accessibility.py) repeats it on the live DOM, after scripts ran.
"""

from __future__ import annotations

from collections import Counter
from html.parser import HTMLParser

import pytest
from django.test import Client

from tests.browser.pages import (
    Target,
    all_roles,
    demo_site,
    stale_entries,
    targets,
    uncovered_routes,
)


class _Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name == "id" and value is not None:
                self.ids.append(value)

    handle_startendtag = handle_starttag


def duplicate_ids(html: str) -> dict[str, int]:
    """Each id used more than once in `html`, with how often."""
    parser = _Ids()
    parser.feed(html)
    return {i: n for i, n in Counter(parser.ids).items() if n > 1}


def test_duplicate_ids_finds_a_repeated_id() -> None:
    html = '<form><input id="id_team"><label for="id_team">Team</label></form>'
    assert duplicate_ids(html) == {}
    assert duplicate_ids(html + '<select id="id_team"></select>') == {"id_team": 2}


def test_every_route_is_crawled_or_explained() -> None:
    """A new page must join the crawl (tests/browser/pages.py says how)."""
    assert uncovered_routes() == [], (
        "routes neither crawled by the accessibility checks nor listed in NOT_PAGES "
        "(tests/browser/pages.py)"
    )
    assert stale_entries() == [], "tests/browser/pages.py lists routes that no longer exist"


def fetch(client: Client, target: Target) -> tuple[int, str, str]:
    """The status, HTML and final path of `target` (redirects followed)."""
    if target.form is not None:
        url, fields, _button = target.form
        response = client.post(url, fields, follow=True)
    else:
        response = client.get(target.url, follow=True)
    chain = getattr(response, "redirect_chain", [])
    final = chain[-1][0] if chain else target.url
    return response.status_code, response.content.decode(), final


@pytest.mark.django_db
@pytest.mark.parametrize("role", all_roles(), ids=lambda r: r or "signed-out")
def test_no_page_has_a_duplicate_id(role: str | None) -> None:
    site = demo_site()
    client = Client()
    if role is not None:
        client.force_login(site.person(role))
    found: list[str] = []
    checked = 0
    for target in targets(site, role):
        status, html, final = fetch(client, target)
        assert status < 500, f"{target.label} ({target.url}) answered {status}"
        if role is not None:
            assert not final.startswith("/login/"), f"{target.label}: sent to sign in"
        if "html" not in html[:200].lower():
            continue  # not an HTML page (e.g. a file)
        checked += 1
        for ident, count in sorted(duplicate_ids(html).items()):
            found.append(f"{target.label} ({target.url}): id={ident!r} ×{count}")
    assert checked >= 3
    if found:
        pytest.fail("duplicate ids:\n" + "\n".join(found), pytrace=False)
