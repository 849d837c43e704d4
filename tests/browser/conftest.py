"""Browser tests: Playwright for Python driving Debian's Chromium (never `playwright install`).

Without /usr/bin/chromium these tests skip with a visible reason (under
TOCSIN_TEST_STRICT=1 a skip fails the run).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.db import connection

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips with the reason
    expect = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page

CHROMIUM = os.environ.get("TOCSIN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# Screenshots are for people to look at (test-output/browser/<database>/<test>/); no test
# asserts on one, and a full-page one costs Chromium 0.3–1.5 s of CPU. They are saved
# unless TOCSIN_TEST_SCREENSHOTS=0, which CI (TOCSIN_TEST_STRICT=1) sets by default:
# there nobody looks at them, and the 160 of a pass cost minutes of its time (issue 7,
# point 12). A check that fails still saves its page through `keep_screenshot`.
SCREENSHOTS = os.environ.get(
    "TOCSIN_TEST_SCREENSHOTS", "0" if os.environ.get("TOCSIN_TEST_STRICT") == "1" else "1"
) not in ("0", "")


def _screenshots_off() -> None:
    from playwright.sync_api import Locator, Page

    for cls in (Page, Locator):
        real = cls.screenshot

        def skipped(self: Any, *args: Any, _real: Any = real, **kwargs: Any) -> bytes:
            if kwargs.get("path") is None:  # the bytes are wanted: take it
                return _real(self, *args, **kwargs)  # type: ignore[no-any-return]
            return b""

        cls.__tocsin_real_screenshot__ = real  # type: ignore[attr-defined]
        cls.screenshot = skipped  # type: ignore[method-assign]


def keep_screenshot(page: Page, path: Path) -> None:
    """Save `page` whatever TOCSIN_TEST_SCREENSHOTS says (a failed check's evidence)."""
    real = getattr(type(page), "__tocsin_real_screenshot__", type(page).screenshot)
    real(page, path=path, full_page=True)


if not SCREENSHOTS and expect is not None:
    _screenshots_off()

# Playwright's sync API runs an event loop in this thread; the test's own ORM calls are
# still synchronous, so Django's async-safety guard must be told so.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install '.[dev]')")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Path:
    """Where a browser test saves its screenshots: test-output/browser/<database>/<test>/."""
    vendor = connection.vendor
    folder = Path("test-output") / "browser" / vendor / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(autouse=True)
def _fast_passwords_and_files(settings: Any, tmp_path: Path) -> None:
    """Quick password checks (sign-ins are many) and attachments in the test's own folder."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"


PASSWORD = "correct horse battery"
VIEWPORT = {"width": 1280, "height": 900}


@dataclass
class Watched:
    """A page plus what went wrong on it: console errors, uncaught exceptions, CSP reports."""

    page: Page
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def csp_violations(self) -> list[str]:
        found = self.page.evaluate("() => window.__cspViolations || []")
        return [str(v) for v in found]

    def problems(self) -> list[str]:
        return self.console_errors + self.page_errors + self.csp_violations()


# Records Content-Security-Policy violations the page itself sees (Playwright injects this
# script outside the page's CSP, so it cannot be refused by it).
_CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " blocked " + (e.blockedURI || "inline"));
});
"""


@pytest.fixture
def open_as(browser: Browser, live_server: Any) -> Iterator[Callable[[str], Watched]]:
    """`open_as("alice")`: a fresh browser context signed in through /login/ as that person."""
    contexts: list[BrowserContext] = []

    def sign_in(username: str) -> Watched:
        context = browser.new_context(viewport=VIEWPORT, base_url=live_server.url)
        contexts.append(context)
        context.add_init_script(_CSP_LISTENER)
        page = context.new_page()
        page.set_default_timeout(10_000)
        watched = Watched(page)

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                watched.console_errors.append(f"{page.url}: {message.text}")

        page.on("console", on_console)
        page.on("pageerror", lambda exc: watched.page_errors.append(f"{page.url}: {exc}"))
        page.goto("/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
        expect(page.locator(".who-name")).to_be_visible()
        return watched

    yield sign_in
    for context in contexts:
        context.close()


@pytest.fixture(autouse=True)
def _seeded_defaults(request: pytest.FixtureRequest) -> None:
    """The priority matrix, SLA targets and office-hours calendar that migration 0002
    seeds: a live-server test before this one flushed every table, so seed them again."""
    if "live_server" not in request.fixturenames and "open_as" not in request.fixturenames:
        return
    request.getfixturevalue("transactional_db")
    from importlib import import_module

    from django.apps import apps

    import_module("tocsin.incidents.migrations.0002_defaults").seed(apps, None)
