"""Issue 8, points 3, 4 and 13, in Chromium at desktop and phone widths: the reporter's
portal puts "Report a problem" first on a phone (and #report scrolls there), attaches a
log file (a refused file is dropped and named, the others kept), and shows what waits
for the reporter with the confirm/reopen buttons on the row; a closed incident offers a
follow-up."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tocsin.accounts.models import Role, User
from tocsin.core.actors import Actor
from tocsin.incidents import services
from tocsin.incidents.models import Incident, Status

from .conftest import Watched

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install '.[dev]')"
)
expect = sync_api.expect

SIZES = {"desktop": {"width": 1400, "height": 900}, "phone": {"width": 390, "height": 844}}
LOG = b"2026-12-05T20:51:03Z ERROR vpn: tunnel down (peer 10.0.0.1)\n" * 20


@pytest.fixture
def rita(make_user: Callable[..., User], make_incident: Callable[..., Incident]) -> User:
    reporter = make_user(Role.REPORTER, username="rita", name="Rita Reporter")
    agent = make_user(Role.AGENT, username="alice", name="Alice Agent")
    for n in range(4):
        make_incident(reporter, title=f"Older question {n}")
    closed = make_incident(reporter, title="Printer on floor 2 jams")
    waiting = make_incident(reporter, title="VPN drops every hour")
    for incident in (closed, waiting):
        services.incident_act(
            incident=incident,
            actor=Actor.for_user(agent),
            action="resolve",
            resolution_code="fixed",
            resolution_notes="Replaced the VPN concentrator's power supply",
        )
    services.incident_act(incident=closed, actor=Actor.for_user(agent), action="close")
    return reporter


@pytest.mark.parametrize("size", SIZES)
def test_report_a_problem_comes_first_and_the_anchor_works(
    size: str, rita: User, open_as: Callable[[str], Watched], shots: Path
) -> None:
    watched = open_as("rita")
    page = watched.page
    page.set_viewport_size(SIZES[size])
    page.goto("/portal/")
    page.screenshot(path=str(shots / f"{size}-1-portal.png"))
    report = page.locator("#report")
    mine = page.locator("#mine")
    report_box, mine_box = report.bounding_box(), mine.bounding_box()
    assert report_box and mine_box
    if size == "phone":
        assert report_box["y"] < mine_box["y"]  # the main action first
        expect(page.get_by_label("What is wrong?")).to_be_in_viewport()
    else:
        assert report_box["x"] > mine_box["x"]  # beside the list, on the right
    # Scroll away, then the nav's "Report a problem" brings the form into view.
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.get_by_role("link", name="Report a problem").click()
    expect(page.get_by_role("heading", name="Report a problem")).to_be_in_viewport()
    assert page.evaluate("location.hash") == "#report"
    page.screenshot(path=str(shots / f"{size}-2-after-report-link.png"))
    assert watched.problems() == []


@pytest.mark.parametrize("size", SIZES)
def test_a_log_is_attached_and_a_refused_file_is_dropped(
    size: str, rita: User, open_as: Callable[[str], Watched], shots: Path
) -> None:
    watched = open_as("rita")
    page = watched.page
    page.set_viewport_size(SIZES[size])
    page.goto("/portal/")
    page.get_by_label("What is wrong?").fill("VPN disconnects after login")
    files = page.get_by_label("Screenshots or logs")
    files.set_input_files(
        [
            {"name": "vpn.log", "mimeType": "text/x-log", "buffer": LOG},
            {"name": "setup.exe", "mimeType": "application/x-msdownload", "buffer": b"MZ\x90"},
            {"name": "client.txt", "mimeType": "text/plain", "buffer": b"client 5.2\n"},
        ]
    )
    note = page.locator(".upload-note")
    expect(note).to_have_text(
        "Not added: setup.exe (this type of file is not accepted). Kept: vpn.log, client.txt."
    )
    assert files.evaluate("input => Array.from(input.files).map(f => f.name)") == [
        "vpn.log",
        "client.txt",
    ]
    note.scroll_into_view_if_needed()
    page.screenshot(path=str(shots / f"{size}-1-refused-named.png"))
    page.get_by_role("button", name="Send report").click()
    expect(page.locator("h1")).to_have_text("VPN disconnects after login")
    incident = Incident.objects.get(title="VPN disconnects after login")
    assert sorted(a.filename for a in incident.attachments.all()) == ["client.txt", "vpn.log"]
    expect(page.locator(".files")).to_contain_text("vpn.log")
    page.screenshot(path=str(shots / f"{size}-2-filed-with-log.png"), full_page=True)
    assert watched.problems() == []


@pytest.mark.parametrize("size", SIZES)
def test_what_waits_for_the_reporter_and_a_follow_up(
    size: str, rita: User, open_as: Callable[[str], Watched], shots: Path
) -> None:
    watched = open_as("rita")
    page = watched.page
    page.set_viewport_size(SIZES[size])
    page.goto("/portal/#mine")
    rows = page.locator(".portal-row")
    first = rows.first
    expect(first).to_contain_text("VPN drops every hour")
    expect(first).to_contain_text("Resolved — please confirm")
    expect(page.locator(".portal-waiting-note")).to_contain_text("1 incident waits for you")
    first.scroll_into_view_if_needed()
    page.screenshot(path=str(shots / f"{size}-1-waiting-row.png"))

    # Reopen needs a reason, asked for on the row.
    first.get_by_text("No, reopen…").click()
    first.get_by_label("What is still wrong?").fill("Still drops at 10:00")
    page.screenshot(path=str(shots / f"{size}-2-reopen-open.png"))
    first.get_by_role("button", name="Reopen").click()
    expect(page.locator(".flash, .alert-success").first).to_contain_text("We have reopened")
    waiting = Incident.objects.get(title="VPN drops every hour")
    assert waiting.status != Status.RESOLVED

    closed_row = page.locator(".portal-row", has_text="Printer on floor 2 jams")
    closed_row.get_by_role("link", name="Report a follow-up").click()
    expect(page.get_by_role("heading", name="Report a follow-up")).to_be_in_viewport()
    closed = Incident.objects.get(title="Printer on floor 2 jams")
    expect(page.get_by_label("What is wrong?")).to_have_value(
        f"Follow-up to {closed.ref}: Printer on floor 2 jams"
    )
    page.screenshot(path=str(shots / f"{size}-3-follow-up-form.png"))
    page.get_by_role("button", name="Send report").click()
    follow_up = Incident.objects.get(related_to=closed)
    expect(page.locator("h1")).to_have_text(follow_up.title)
    expect(page.locator(".fields dt", has_text="Follow-up to")).to_have_count(1)
    expect(page.locator(".fields dd a")).to_have_text(closed.ref)
    expect(page.locator(".fields")).not_to_contain_text("Support level")
    expect(page.locator(".sla-boxes")).to_have_count(0)

    page.goto(f"/incidents/{closed.ref}/")
    expect(page.locator("#note-form")).to_have_count(0)
    expect(page.get_by_role("link", name="Report a follow-up")).to_be_visible()
    page.screenshot(path=str(shots / f"{size}-4-closed-incident.png"), full_page=True)
    assert watched.problems() == []
