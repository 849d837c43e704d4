"""The public status page in Chromium, as the public reads it: on a desktop (1280 px,
light and dark colour scheme) and a phone (390 px), without signing in, with screenshots,
axe-core (no serious or critical violation), no horizontal scrolling on the phone, and
the same content with JavaScript off (the page has no script at all)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.a11y import axe_violations
from tests.browser.conftest import CHROMIUM_ARGS  # noqa: F401  (the same Chromium)
from tests.comms.sppublic_data import build
from tocsin.comms import public

SIZES = {
    "desktop": {"width": 1280, "height": 900},
    "phone": {"width": 390, "height": 844},
    "desktop-dark": {"width": 1280, "height": 900},
}


@pytest.fixture
def status_data(transactional_db: None, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(public, "REVISION_TTL", 0.0)
    public.forget()
    return build()


@pytest.mark.parametrize(
    ("size", "javascript"),
    [
        ("desktop", True),
        ("phone", True),
        ("desktop-dark", True),
        ("desktop", False),
        ("phone", False),
    ],
    ids=["desktop-js", "phone-js", "desktop-dark-js", "desktop-nojs", "phone-nojs"],
)
def test_status_page_reads_well_and_passes_axe(
    browser: Any, live_server: Any, status_data: Any, shots: Path, size: str, javascript: bool
) -> None:
    context = browser.new_context(
        viewport=SIZES[size],
        base_url=live_server.url,
        java_script_enabled=javascript,
        color_scheme="dark" if size.endswith("dark") else "light",
    )
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        for path, name in (
            ("/status/", "page"),
            (f"/status/incidents/{status_data.incident.pk}/", "incident"),
            ("/status/subscribe/", "subscribe"),
        ):
            response = page.goto(path)
            assert response is not None and response.status == 200
            page.screenshot(path=str(shots / f"{name}-{size}.png"), full_page=True)
            # landmarks
            assert page.locator("header").count() == 1
            assert page.locator("main#main").count() == 1
            assert page.locator("footer").count() == 1
            assert page.locator("script").count() == 0
            width = page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= SIZES[size]["width"], f"{path} scrolls sideways at {size}"
            if javascript:  # axe needs script; the no-JS pass checks the content
                bad = axe_violations(page)
                assert not bad, "\n".join(
                    f"{v.rule} ({v.impact}): {v.help} — {v.line_target()}" for v in bad
                )
            if name == "page":
                main = page.locator("main")
                # the banner, each status in words, the incident and its updates
                assert "Partial System Outage" in main.inner_text()
                assert "Elevated API error rates" in main.inner_text()
                assert "We found the cause & are fixing it <soon>." in main.inner_text()
                assert "Mail relay move" in main.inner_text()
                assert "Database upgrade" in main.inner_text()
                assert "Slow website" in main.inner_text()  # past incidents
                assert "Draft: not yet public" not in page.content()
                row = page.locator(".sp-component", has_text="Public API")
                assert "Partial outage" in row.inner_text()
                assert row.locator(".sp-d").count() == 90
                assert "uptime" in row.locator(".sp-uptime-figure").inner_text()
                # each bar's text is in the page for screen readers
                web = page.locator(".sp-component", has_text="Website")
                labels = web.locator(".sp-d > span").all_text_contents()
                assert len(labels) == 90 and any("Major outage" in t for t in labels)
        assert not errors, errors
    finally:
        context.close()
