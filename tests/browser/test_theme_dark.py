"""Dark mode in Chromium: with the system set to dark, the main pages (demo data) render
in the dark palette at desktop and phone width, every visible text reads at WCAG AA
against what is really behind it, and nothing breaks the CSP; the top bar's switch
chooses light, dark or the system's, remembered across pages, with and without JS."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.demo_snapshot import demo
from tocsin.catalog.models import Service
from tocsin.demo import DEMO_PASSWORD
from tocsin.incidents.models import Incident

from .conftest import _CSP_LISTENER, CHROMIUM

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install '.[dev]')"
)
expect = sync_api.expect

DESKTOP = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}
DARK_BG = "#0f1115"  # --bg of the dark palette
LIGHT_BG = "#f6f7f9"  # --bg of the light palette

# Every visible piece of text against the colour really behind it (the first ancestor
# with an opaque background), as WCAG measures it: 4.5:1, or 3:1 for large text.
CONTRAST_SCAN = """
() => {
  function rgba(text) {
    const m = text.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const p = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  }
  function lum(c) {
    const ch = c.slice(0, 3).map(v => {
      v /= 255;
      return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2];
  }
  function over(top, under) {
    const a = top[3];
    return [0, 1, 2].map(i => top[i] * a + under[i] * (1 - a)).concat([1]);
  }
  function behind(el) {
    const layers = [];
    for (let node = el; node && node.nodeType === 1; node = node.parentElement) {
      const style = getComputedStyle(node);
      if (style.backgroundImage !== "none" && !style.backgroundImage.startsWith("url")) {
        return null;  /* a gradient: not measured here */
      }
      const bg = rgba(style.backgroundColor);
      if (bg && bg[3] > 0) {
        layers.push(bg);
        if (bg[3] >= 1) break;
      }
    }
    let colour = [255, 255, 255, 1];
    if (layers.length && layers[layers.length - 1][3] >= 1) colour = layers.pop();
    while (layers.length) colour = over(layers.pop(), colour);
    return colour;
  }
  function hidden(el) {
    for (let node = el; node && node.nodeType === 1; node = node.parentElement) {
      const style = getComputedStyle(node);
      if (style.visibility === "hidden" || style.display === "none") return true;
      if (parseFloat(style.opacity) < 1) return true;  /* dimmed on purpose (disabled) */
      if (style.clipPath === "inset(50%)" || style.clip === "rect(0px, 0px, 0px, 0px)") return true;
    }
    const box = el.getBoundingClientRect();
    return box.width < 2 || box.height < 2;
  }
  const failures = [];
  const seen = new Set();
  for (const el of document.body.querySelectorAll("*")) {
    if (["SCRIPT", "STYLE", "OPTION", "svg", "path"].includes(el.tagName)) continue;
    const own = Array.from(el.childNodes)
      .filter(n => n.nodeType === 3)
      .map(n => n.textContent.trim())
      .join(" ")
      .trim();
    if (!own || hidden(el)) continue;
    const style = getComputedStyle(el);
    const bg = behind(el);
    if (!bg) continue;
    const fg = over(rgba(style.color), bg);
    const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
    const ratio = (hi + 0.05) / (lo + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && parseInt(style.fontWeight, 10) >= 700);
    if (ratio < (large ? 3 : 4.5)) {
      const what = el.tagName.toLowerCase() + (el.className && typeof el.className === "string"
        ? "." + el.className.trim().split(/\\s+/).join(".") : "");
      const line = what + " \\"" + own.slice(0, 40) + "\\" " + ratio.toFixed(2) + ":1 ("
        + style.color + " on rgb(" + bg.slice(0, 3).map(Math.round).join(", ") + "))";
      if (!seen.has(line)) { seen.add(line); failures.push(line); }
    }
  }
  return failures;
}
"""


class Session:
    """A browser context with the page, and what went wrong on it."""

    def __init__(self, context: BrowserContext) -> None:
        self.context = context
        self.page: Page = context.new_page()
        self.page.set_default_timeout(15_000)
        self.errors: list[str] = []
        self.page.on(
            "console",
            lambda m: (
                self.errors.append(f"{self.page.url}: {m.text}") if m.type == "error" else None
            ),
        )
        self.page.on("pageerror", lambda exc: self.errors.append(f"{self.page.url}: {exc}"))

    def sign_in(self, username: str) -> None:
        self.page.goto("/login/")
        self.page.get_by_label("Username").fill(username)
        self.page.get_by_label("Password").fill(DEMO_PASSWORD)
        self.page.get_by_role("button", name="Sign in").click()
        expect(self.page.locator(".who-name")).to_be_visible()

    def problems(self) -> list[str]:
        csp = self.page.evaluate("() => window.__cspViolations || []")
        return self.errors + [str(v) for v in csp]


@pytest.fixture
def sessions(browser: Browser, live_server: Any) -> Iterator[Any]:
    made: list[BrowserContext] = []

    def make(*, scheme: str = "light", js: bool = True) -> Session:
        context = browser.new_context(
            viewport=DESKTOP,
            base_url=live_server.url,
            color_scheme=scheme,  # type: ignore[arg-type]
            java_script_enabled=js,
        )
        context.add_init_script(_CSP_LISTENER)
        made.append(context)
        return Session(context)

    yield make
    for context in made:
        context.close()


def _background(page: Page) -> str:
    """The page's background colour in force (--bg of the palette the page is using)."""
    return str(
        page.evaluate(
            "() => getComputedStyle(document.documentElement).getPropertyValue('--bg').trim()"
        )
    )


def _admin_header(page: Page) -> str:
    return str(
        page.evaluate("() => getComputedStyle(document.querySelector('#header')).backgroundColor")
    )


def _look(session: Session, path: str, shots: Path, name: str, *, phone: bool) -> list[str]:
    """Open `path`, check it is dark, save screenshots; the contrast failures found."""
    page = session.page
    page.set_viewport_size(DESKTOP)
    page.goto(path)
    page.wait_for_load_state("networkidle")
    failures = [f"{path}: {line}" for line in page.evaluate(CONTRAST_SCAN)]
    page.screenshot(path=str(shots / f"{name}-desktop.png"), full_page=True)
    if phone:
        page.set_viewport_size(PHONE)
        page.evaluate("window.scrollTo(0, 0)")
        failures += [f"{path} (phone): {line}" for line in page.evaluate(CONTRAST_SCAN)]
        page.screenshot(path=str(shots / f"{name}-phone.png"), full_page=True)
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{path} scrolls sideways on a phone ({width}px)"
    return failures


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed")
def test_the_main_pages_in_dark_mode_read_well(sessions: Any, shots: Path) -> None:
    demo()  # loaded once a module, then copied back (tests/demo_snapshot.py)
    incident = Incident.objects.filter(priority=1).order_by("-reported_at").first()
    assert incident is not None
    portal = Service.objects.get(name="Customer portal")
    failures: list[str] = []

    visitor = sessions(scheme="dark")
    visitor.page.goto("/login/")
    assert _background(visitor.page) == DARK_BG
    failures += _look(visitor, "/login/", shots, "login", phone=True)
    # the scan sees what a person would not: dark grey text on the dark card
    planted = visitor.page.evaluate(
        """() => { const p = document.createElement("p"); p.textContent = "hard to read";
        p.style.color = "#3a3f47"; document.querySelector(".auth-card").append(p); }"""
    )
    assert planted is None
    assert any('"hard to read"' in line for line in visitor.page.evaluate(CONTRAST_SCAN))

    admin = sessions(scheme="dark")
    admin.sign_in("ada")
    expect(admin.page.locator("html")).not_to_have_attribute("data-theme", re.compile("."))
    assert _background(admin.page) == DARK_BG  # the system's dark, no choice made
    for path, name, phone in [
        ("/", "queue", True),
        (f"/incidents/{incident.ref}/", "incident", True),
        ("/alerts/", "alerts", True),
        ("/services/", "services", False),
        (f"/services/{portal.pk}/", "service", True),
        (f"/services/{portal.pk}/integrations/new/", "integration-new", False),
        ("/settings/", "settings", True),
        ("/settings/priority-matrix/", "matrix", True),
        ("/settings/sla-targets/", "sla", True),
        ("/settings/audit/", "audit", False),
    ]:
        failures += _look(admin, path, shots, name, phone=phone)
        assert _background(admin.page) == DARK_BG, path
    # Django admin: its own stylesheet, in Tocsin's dark colours
    admin.page.goto("/admin/")
    admin.page.screenshot(path=str(shots / "admin-desktop.png"), full_page=True)
    assert _admin_header(admin.page) == "rgb(30, 27, 75)"  # the dark admin's indigo header
    admin.page.goto("/admin/incidents/slatarget/")
    admin.page.screenshot(path=str(shots / "admin-sla-desktop.png"), full_page=True)

    reporter = sessions(scheme="dark")
    reporter.sign_in("rita")
    failures += _look(reporter, "/portal/", shots, "portal", phone=True)

    assert failures == [], "text below WCAG AA in dark mode:\n" + "\n".join(failures)
    for session in (visitor, admin, reporter):
        assert session.problems() == []


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed")
def test_the_switch_chooses_and_remembers_the_theme(sessions: Any, shots: Path) -> None:
    demo()  # loaded once a module, then copied back (tests/demo_snapshot.py)
    ada = sessions(scheme="light")
    ada.sign_in("ada")
    page = ada.page
    assert _background(page) == LIGHT_BG
    switch = page.get_by_role("group", name="Colour theme")
    expect(switch.get_by_role("button", name="System")).to_have_attribute("aria-pressed", "true")

    with page.expect_response("**/theme/"):  # the choice is kept once the server answers
        switch.get_by_role("button", name="Dark").click()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    expect(switch.get_by_role("button", name="Dark")).to_have_attribute("aria-pressed", "true")
    assert _background(page) == DARK_BG
    page.screenshot(path=str(shots / "switched-dark-desktop.png"))
    page.goto("/alerts/")  # remembered on the next page, from the server
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    assert _background(page) == DARK_BG
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(shots / "switched-dark-phone.png"))
    page.set_viewport_size(DESKTOP)
    page.goto("/admin/")  # the admin follows the same choice
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    assert _admin_header(page) == "rgb(30, 27, 75)"
    page.screenshot(path=str(shots / "admin-chosen-dark-desktop.png"))
    page.goto("/alerts/")

    with page.expect_response("**/theme/"):
        page.get_by_role("group", name="Colour theme").get_by_role("button", name="System").click()
    expect(page.locator("html")).not_to_have_attribute("data-theme", re.compile("."))
    assert _background(page) == LIGHT_BG  # this browser's system setting is light
    page.reload()
    assert _background(page) == LIGHT_BG

    # a person whose system is dark can still choose light
    night = sessions(scheme="dark")
    night.sign_in("lucia")
    assert _background(night.page) == DARK_BG
    with night.page.expect_response("**/theme/"):
        night.page.get_by_role("button", name="Light").click()
    expect(night.page.locator("html")).to_have_attribute("data-theme", "light")
    assert _background(night.page) == LIGHT_BG
    night.page.reload()
    assert _background(night.page) == LIGHT_BG
    page.goto("/admin/")
    expect(page.locator("html")).to_have_attribute("data-theme", "auto")
    assert _admin_header(page) == "rgb(55, 48, 163)"  # Tocsin's indigo, light
    page.screenshot(path=str(shots / "admin-light-desktop.png"))
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(shots / "admin-light-phone.png"), full_page=True)
    assert ada.problems() == [] and night.problems() == []


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed")
def test_the_switch_works_without_javascript(sessions: Any, shots: Path) -> None:
    demo()  # loaded once a module, then copied back (tests/demo_snapshot.py)
    plain = sessions(scheme="light", js=False)
    plain.sign_in("sam")
    page = plain.page
    page.goto("/alerts/")
    page.get_by_role("button", name="Dark").click()  # an ordinary form post
    page.wait_for_load_state()
    assert page.url.endswith("/alerts/")  # back on the same page
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    assert _background(page) == DARK_BG
    page.screenshot(path=str(shots / "no-js-dark-desktop.png"))
