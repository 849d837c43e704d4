"""Every page is crawled (issue 8, point 5): each route of the URL conf is either in the
crawl list of tests/browser/pages.py or explained in its NOT_PAGES.

The crawl itself is tests/browser/test_accessibility.py: for every role, every page's
status (no 5xx, no sign-in redirect for someone signed in), axe-core, and no duplicate
id in the live DOM (after the page's scripts ran; a duplicate id leaves a field
unlabelled for a screen reader and makes its label focus another control). A crawl of
the server's HTML through Django's test client ran here too, for every role on each
pass: it repeated the browser's crawl (the same pages, the same ids) for about 50 s of
CPU a pass, so it went (issue 7, point 12). `duplicate_ids` remains for tests that
check one page's HTML without a browser.
"""

from __future__ import annotations

from tests.browser.pages import stale_entries, uncovered_routes


def test_every_route_is_crawled_or_explained() -> None:
    """A new page must join the crawl (tests/browser/pages.py says how)."""
    assert uncovered_routes() == [], (
        "routes neither crawled by the accessibility checks nor listed in NOT_PAGES "
        "(tests/browser/pages.py)"
    )
    assert stale_entries() == [], "tests/browser/pages.py lists routes that no longer exist"
