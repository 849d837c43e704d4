"""Accessibility in Chromium: every page, for every role, checked with axe-core (issue 8).

Over the demo organisation (so lists, timelines and alerts are not empty), each person
of every role of accounts.models.Role — and someone signed out — opens every page of the
crawl list (tests/browser/pages.py, built from the URL conf, including the Django admin
for an administrator) at 1400×900, and on each page:

- axe-core finds no violation of serious or critical impact (every rule axe runs by
  default: WCAG 2.0-2.2 A/AA and best practices);
- no id is used twice in the live DOM (after the page's scripts ran);
- the page itself causes no CSP violation, console error or uncaught exception (the axe
  script is evaluated through DevTools, outside the page's CSP, which stays strict).

A page with a finding is saved as a screenshot under test-output/browser/<db>/<test>/.
The PostgreSQL pass checks a subset (VARIANTS and ROLES below say which, and why).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest

from tocsin.accounts.models import Role

from .a11y import axe_source, axe_violations, dom_duplicate_ids
from .conftest import _CSP_LISTENER, Watched, keep_screenshot
from .pages import Target, all_roles, demo_site, targets

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install '.[dev]')"
)

DESKTOP = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}
# (colour scheme, viewport): light on a desktop, dark on a phone — each page is seen in
# both themes and at both widths for the price of two passes.
VARIANTS = {"light-desktop": ("light", DESKTOP), "dark-phone": ("dark", PHONE)}
# The dark theme at phone width is a matter of CSS, the same whatever the database: the
# PostgreSQL pass checks every page once (light, desktop) and leaves that pass to SQLite.
# Likewise the markup a role is given does not depend on the database: the PostgreSQL
# pass walks every page over its own data as the administrator (who sees the most pages,
# the Django admin included), a reporter (the portal) and someone signed out; the other
# staff roles, whose pages are the administrator's with fewer controls, are left to SQLite.
ROLES = all_roles()
if os.environ.get("DATABASE_URL", "").startswith("postgres"):
    del VARIANTS["dark-phone"]
    ROLES = [role for role in ROLES if role in (None, Role.ADMIN, Role.REPORTER)]


def visit(page: Page, target: Target) -> int:
    """Open `target` as a person would: by its URL, or by filling and sending its form.
    Returns the HTTP status of the page it ends on."""
    if target.form is None:
        response = page.goto(target.url)
        page.wait_for_load_state()
        return response.status if response is not None else 0
    url, fields, button = target.form
    page.goto(url)
    for name, value in fields.items():
        field = page.locator(f"[name='{name}']")
        if field.first.get_attribute("type") == "radio":
            page.locator(f"[name='{name}'][value='{value}']").check()
        else:
            field.fill(value)
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name=button).click()
    page.wait_for_load_state()
    response = navigation.value
    return response.status if response is not None else 0


def check_page(
    watched: Watched, target: Target, shots: Path, *, signed_in: bool = False
) -> list[str]:
    """Everything wrong with `target`, one line each."""
    page = watched.page
    watched.console_errors.clear()
    watched.page_errors.clear()
    status = visit(page, target)
    where = f"{target.label} ({target.url})"
    if status >= 500 or status == 0:
        return [f"{where}: answered {status or 'nothing'}"]
    if signed_in and urlsplit(page.url).path.startswith("/login/"):
        return [f"{where}: sent to sign in"]
    grouped: dict[tuple[str, str, str], list[str]] = {}
    for v in axe_violations(page):
        grouped.setdefault((v.impact, v.rule, v.help), []).append(v.line_target())
    problems = [
        f"{where}: [{impact}] {rule} ×{len(elements)}: {help_} — "
        + " | ".join(elements[:3])
        + (" | …" if len(elements) > 3 else "")
        for (impact, rule, help_), elements in grouped.items()
    ]
    problems += [
        f"{where}: [duplicate id] id={ident!r} ×{n}"
        for ident, n in sorted(dom_duplicate_ids(page).items())
    ]
    problems += [
        f"{where}: [page error] {p}"
        for p in watched.problems()  # the CSP reports are this page's own
        # an error page's own status, which the browser logs as a console error
        if "Failed to load resource" not in p
    ]
    if problems:
        name = re.sub(r"[^a-z0-9]+", "-", target.label.lower()).strip("-")
        keep_screenshot(page, shots / f"{name}.png")
    return problems


@pytest.fixture
def signed_out(browser: Browser, live_server: Any) -> Callable[[], Watched]:
    """A browser context of someone signed out, watched like `open_as`'s."""
    contexts = []

    def open_context() -> Watched:
        context = browser.new_context(viewport=DESKTOP, base_url=live_server.url)
        contexts.append(context)
        context.add_init_script(_CSP_LISTENER)
        page = context.new_page()
        page.set_default_timeout(10_000)
        watched = Watched(page)
        page.on(
            "console",
            lambda m: (
                watched.console_errors.append(f"{page.url}: {m.text}")
                if m.type == "error" and "404 (Not Found)" not in m.text
                else None
            ),
        )
        page.on("pageerror", lambda exc: watched.page_errors.append(f"{page.url}: {exc}"))
        return watched

    yield open_context  # type: ignore[misc]
    for context in contexts:
        context.close()


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("role", ROLES, ids=lambda r: r or "signed-out")
def test_every_page_is_accessible(
    role: str | None,
    variant: str,
    open_as: Callable[[str], Watched],
    signed_out: Callable[[], Watched],
    shots: Path,
) -> None:
    axe_source()  # skips with the reason when `npm ci` has not run
    scheme, viewport = VARIANTS[variant]
    site = demo_site()
    watched = signed_out() if role is None else open_as(site.person(role).username)
    watched.page.set_viewport_size(viewport)  # type: ignore[arg-type]
    watched.page.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
    watched.console_errors.clear()
    found: list[str] = []
    crawled = targets(site, role)
    if scheme == "dark":  # the Django admin's own theme is Django's: light desktop only
        crawled = [t for t in crawled if not t.route.startswith("admin:")]
    assert len(crawled) >= 3
    for target in crawled:
        found += check_page(watched, target, shots, signed_in=role is not None)
    if found:
        pytest.fail(
            f"{len(found)} accessibility findings for {role or 'signed out'} ({variant})"
            f" over {len(crawled)} pages:\n" + "\n".join(found),
            pytrace=False,
        )


def test_the_check_finds_what_it_must(browser: Browser) -> None:
    """The harness itself: on a page with known faults, axe-core (loaded the same way as
    for Tocsin's pages) reports them with their impact, and the DOM check finds the
    duplicate id."""
    axe_source()
    context = browser.new_context(viewport=DESKTOP)
    try:
        page = context.new_page()
        page.set_content(
            '<!doctype html><html lang="en"><head><title>t</title></head><body><main>'
            '<h1>Faults</h1><img src="data:,">'
            '<label for="a">A</label><input id="a"><input id="a" type="text">'
            '<ol role="log"><li>orphaned item</li></ol></main></body></html>'
        )
        found = {(v.rule, v.impact) for v in axe_violations(page)}
        assert ("image-alt", "critical") in found
        assert ("listitem", "serious") in found
        assert dom_duplicate_ids(page) == {"a": 2}
    finally:
        context.close()
