"""The whole service-desk story in Chromium, as people do it, through the pages only.

A reporter files an incident with a screenshot; an agent triages it (category, impact,
urgency → priority), assigns it and writes an internal and a public note; a responder
acknowledges and resolves it; the reporter confirms and it closes. The reporter never
sees the internal note.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tocsin.accounts.models import Role, User
from tocsin.accounts.services import team_create
from tocsin.catalog.services import category_create, service_create
from tocsin.core.actors import Actor
from tocsin.incidents.models import Incident, Status

from .conftest import Watched

if TYPE_CHECKING:
    from playwright.sync_api import Page

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install '.[dev]')"
)
expect = sync_api.expect

TITLE = "VPN drops every ten minutes"
INTERNAL = "internal: suspect the RADIUS server"
PUBLIC = "We are looking into the VPN drops; a fix is on its way."
RESOLUTION_NOTES = "Authentication timeout raised from 5 s to 30 s."


def png_bytes(width: int = 24, height: int = 16) -> bytes:
    """A small, real PNG (red and white stripes), built with zlib and struct only."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(
        b"\x00"
        + b"".join(b"\xd0\x20\x20" if (x // 4) % 2 else b"\xff\xff\xff" for x in range(width))
        for _ in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def entry(page: Page, actor: str, summary: str | re.Pattern[str]) -> Any:
    """The timeline entries on `page` written by `actor` whose text matches `summary`."""
    return (
        page.locator("ol.timeline > li.tl-entry")
        .filter(has=page.locator(".actor", has_text=re.compile(rf"^{re.escape(actor)}$")))
        .filter(has_text=summary)
    )


def fields_value(page: Page, name: str) -> Any:
    """The <dd> of the Details list named `name`."""
    return page.locator(f"dl.fields dt:text-is('{name}') + dd")


def full_shot(page: Page, path: Path) -> None:
    """A full-page screenshot from the top (so the sticky top bar stays at the top)."""
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=path, full_page=True)


def assert_no_internal(page: Page) -> None:
    """Neither the visible text nor the HTML of a reporter's page carries the internal note."""
    html = page.content()
    assert INTERNAL not in html
    assert "RADIUS" not in html
    expect(page.get_by_text("RADIUS")).to_have_count(0)
    expect(page.locator(".badge-internal")).to_have_count(0)


@pytest.fixture
def people(make_user: Callable[..., User]) -> dict[str, Any]:
    reporter = make_user(Role.REPORTER, username="rita", name="Rita Reporter")
    agent = make_user(Role.AGENT, username="alice", name="Alice Agent")
    responder = make_user(Role.RESPONDER, username="rob", name="Rob Responder")
    network = category_create(name="Network", actor=Actor.system("test setup"))
    category_create(name="Wi-Fi", parent=network, actor=Actor.system("test setup"))
    vpn = category_create(name="VPN", parent=network, actor=Actor.system("test setup"))
    application = category_create(name="Application", actor=Actor.system("test setup"))
    category_create(name="Login", parent=application, actor=Actor.system("test setup"))
    return {
        "reporter": reporter,
        "agent": agent,
        "responder": responder,
        "service": service_create(name="Remote access", actor=Actor.system("test setup")),
        "network": network,
        "vpn": vpn,
        "team": team_create(
            name="Network team",
            members=[agent, responder],
            manager=agent,
            actor=Actor.system("test setup"),
        ),
    }


def test_the_whole_story(
    people: dict[str, Any],
    open_as: Callable[[str], Watched],
    shots: Path,
    tmp_path: Path,
) -> None:
    screenshot = tmp_path / "vpn-error.png"
    screenshot.write_bytes(png_bytes())

    # 1. The reporter files the incident in the portal, with the screenshot.
    rita = open_as("rita")
    page = rita.page
    expect(page).to_have_url(re.compile(r"/portal/$"))  # reporters land on their portal
    page.get_by_label("What is wrong?").fill(TITLE)
    page.get_by_label(re.compile(r"^Details")).fill("Since this morning, every ten minutes.")
    page.get_by_label(re.compile(r"^Which service\?")).select_option(label="Remote access")
    page.get_by_label(re.compile(r"^Screenshots or logs")).set_input_files(screenshot)
    page.get_by_role("button", name="Send report").click()
    expect(page).to_have_url(re.compile(r"/incidents/INC-\d+/$"))
    ref = page.locator(".incident-head .ref").inner_text()
    incident_url = f"/incidents/{ref}/"
    expect(page.locator(".flash")).to_have_text(f"Thank you — we have your report as {ref}.")
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(page.locator(".incident-head .pill")).to_have_text("New")
    expect(page.locator("ul.files")).to_contain_text("vpn-error.png")
    page.get_by_role("link", name="← My incidents").click()
    expect(page.locator("ul.incident-list")).to_contain_text(f"{ref} {TITLE}")

    # 2. The agent finds it in the queue, triages, assigns and writes two notes.
    alice = open_as("alice")
    page = alice.page
    expect(page).to_have_url(re.compile(r"/$"))
    row = page.locator("table.queue tbody tr").filter(has_text=TITLE)
    expect(row).to_have_count(1)
    expect(row.locator(".cell-prio")).to_have_text("P3")  # portal reports start at 3 × 3
    expect(row.locator(".cell-status")).to_have_text("New")
    row.get_by_role("link", name=ref).click()
    expect(page).to_have_url(re.compile(re.escape(incident_url) + "$"))

    page.locator("details.panel > summary", has_text="Triage").click()
    triage = page.locator("form[action$='/triage/']")
    triage.get_by_label(re.compile(r"^Category")).select_option(label="Network")
    triage.get_by_label(re.compile(r"^Subcategory")).select_option(label="VPN")
    preview = triage.locator("[data-priority-preview]")
    expect(preview).to_have_text("P3")
    triage.get_by_label("Impact").select_option("2")
    triage.get_by_label("Urgency").select_option("1")
    expect(preview).to_have_text("P1")  # the matrix: urgency 1 × impact 2 → P1
    triage.get_by_label("Urgency").select_option("2")
    expect(preview).to_have_text("P2")  # urgency 2 × impact 2 → P2, before saving
    triage.get_by_role("button", name="Save triage").click()
    expect(page.locator(".flash")).to_have_text(f"{ref} triage saved")
    expect(page.locator(".incident-head .badge.prio")).to_have_text("P2")
    expect(fields_value(page, "Priority")).to_contain_text("P2")
    expect(fields_value(page, "Category")).to_have_text("Network › VPN")
    expect(fields_value(page, "Impact")).to_have_text("2 – High")
    expect(fields_value(page, "Urgency")).to_have_text("2 – High")

    page.locator("details.panel > summary", has_text=re.compile(r"^Assign$")).click()
    assign = page.locator("form[action$='/assign/']")
    picker = assign.get_by_role("combobox", name=re.compile(r"^Assignee"))
    picker.fill("rob")
    expect(assign.get_by_role("option", name=re.compile("Rob Responder"))).to_be_visible()
    picker.press("Enter")
    expect(picker).to_have_value("Rob Responder (rob)")
    assign.get_by_label(re.compile(r"^Team")).select_option(label="Network team")
    assign.get_by_role("button", name="Save assignment").click()
    expect(page.locator(".flash")).to_have_text(f"{ref} assigned to Rob Responder (Network team)")
    expect(fields_value(page, "Assignee")).to_have_text("Rob Responder")
    expect(fields_value(page, "Team")).to_have_text("Network team")

    note_form = page.locator("#note-form")
    note_form.get_by_label("Note", exact=True).fill(INTERNAL)
    expect(note_form.get_by_label(re.compile("Make public"))).not_to_be_checked()
    note_form.get_by_role("button", name="Add note").click()
    expect(entry(page, "Alice Agent", INTERNAL)).to_have_count(1)
    note_form.get_by_label("Note", exact=True).fill(PUBLIC)
    note_form.get_by_label(re.compile("Make public")).check()
    note_form.get_by_role("button", name="Add note").click()
    expect(entry(page, "Alice Agent", PUBLIC)).to_have_count(1)

    page.goto("/")
    row = page.locator("table.queue tbody tr").filter(has_text=TITLE)
    expect(row.locator(".cell-prio")).to_have_text("P2")
    expect(row).to_contain_text("Network › VPN")
    expect(row).to_contain_text("Rob Responder")
    full_shot(page, shots / "queue-agent.png")

    # The reporter, meanwhile, sees the public note and never the internal one.
    page = rita.page
    page.goto(incident_url)
    expect(page.locator("ol.timeline")).to_contain_text(PUBLIC)
    assert_no_internal(page)
    assert page.request.get(incident_url + "live/").text().count("RADIUS") == 0

    # 3. The responder acknowledges, then resolves with a code and notes.
    rob = open_as("rob")
    page = rob.page
    page.get_by_label(re.compile(r"^Assignee")).select_option(label="Me")
    page.get_by_role("button", name="Apply").click()  # filters apply on the button (issue 8)
    expect(page).to_have_url(re.compile(r"assignee=me"))
    row = page.locator("table.queue tbody tr").filter(has_text=TITLE)
    row.get_by_role("link", name=ref).click()
    expect(page).to_have_url(re.compile(re.escape(incident_url) + "$"))
    page.get_by_role("button", name="Acknowledge", exact=True).click()
    expect(page.locator(".flash")).to_have_text(f"{ref} acknowledged")
    expect(page.locator(".incident-head .pill")).to_have_text("Acknowledged")
    page.locator("summary", has_text="Resolve…").click()
    resolve = page.locator("form[action$='/act/resolve/']")
    resolve.get_by_label(re.compile(r"^Resolution code")).select_option(
        label="Configuration change"
    )
    resolve.get_by_label(re.compile(r"^Resolution notes")).fill(RESOLUTION_NOTES)
    resolve.get_by_role("button", name="Resolve", exact=True).click()
    expect(page.locator(".flash")).to_have_text(f"{ref} resolved")
    expect(page.locator(".incident-head .pill")).to_have_text("Resolved")

    # 4. The reporter sees it resolved and confirms: it closes.
    page = rita.page
    page.goto(incident_url)
    expect(page.locator(".incident-head .pill")).to_have_text("Resolved")
    confirm = page.locator("section.confirm-box")
    expect(confirm.get_by_role("heading")).to_have_text("Is your problem solved?")
    expect(confirm).to_contain_text(f"Configuration change: {RESOLUTION_NOTES}")
    assert_no_internal(page)
    confirm.get_by_role("button", name="Yes, close it").click()
    expect(page.locator(".flash")).to_have_text("Thank you — the incident is closed.")
    expect(page.locator(".incident-head .pill")).to_have_text("Closed")
    expect(page.locator("section.confirm-box")).to_have_count(0)
    expect(page.locator("ol.timeline")).to_contain_text(PUBLIC)
    expect(entry(page, "Rita Reporter", "confirmed the problem is solved")).to_have_count(1)
    assert_no_internal(page)

    # The reporter downloads the screenshot through the page's link.
    link = page.locator("ul.files a", has_text="vpn-error.png")
    with page.expect_download() as download_info:
        link.click()
    download = download_info.value
    assert download.suggested_filename == "vpn-error.png"
    assert Path(download.path()).read_bytes() == screenshot.read_bytes()
    response = page.request.get(link.get_attribute("href") or "")
    assert response.status == 200
    assert response.headers["content-type"] == "image/png"
    assert response.body() == screenshot.read_bytes()
    full_shot(page, shots / "incident-reporter.png")

    # 5. The staff page's timeline tells the whole story, each step with its actor.
    page = alice.page
    page.goto(incident_url)
    expect(page.locator(".incident-head .pill")).to_have_text("Closed")
    steps: list[tuple[str, str | re.Pattern[str]]] = [
        ("Rita Reporter", re.compile(r"reported the incident")),
        ("Rita Reporter", "attached a file"),
        # one triage save, one entry listing its changes
        ("Alice Agent", "changed category, subcategory, impact, urgency and priority"),
        ("Alice Agent", "assigned it to Rob Responder"),
        ("Alice Agent", INTERNAL),
        ("Alice Agent", PUBLIC),
        ("Rob Responder", "acknowledged · status New → Acknowledged"),
        ("Rob Responder", "resolved it · status Acknowledged → Resolved"),
        ("Rita Reporter", "confirmed the problem is solved"),
        ("Rita Reporter", "closed it · status Resolved → Closed"),
    ]
    for actor, summary in steps:
        expect(entry(page, actor, summary), f"{actor}: {summary}").to_have_count(1)
    entries = page.locator("ol.timeline > li.tl-entry")
    texts = entries.all_inner_texts()
    positions = [
        next(
            i
            for i, text in enumerate(texts)
            if actor in text
            and (summary.search(text) if isinstance(summary, re.Pattern) else summary in text)
        )
        for actor, summary in steps
    ]
    assert positions == sorted(positions), texts  # in the order they happened
    triage = entry(page, "Alice Agent", "changed category, subcategory, impact, urgency and")
    expect(triage.locator(".tl-changes li")).to_have_text(
        [
            "Category: none → to Network",
            "Subcategory: none → to Network › VPN",
            "Impact: 3 – Medium → to 2 – High",
            "Urgency: 3 – Medium → to 2 – High",
            "Priority: P3 → to P2",
        ]
    )
    internal = entry(page, "Alice Agent", INTERNAL)
    expect(internal).to_have_class(re.compile(r"\btl-internal\b"))
    expect(internal.locator(".badge-internal")).to_have_text("Internal")
    expect(entry(page, "Alice Agent", PUBLIC).locator(".badge-internal")).to_have_count(0)
    full_shot(page, shots / "incident-staff.png")

    # The database agrees with the pages.
    incident = Incident.objects.get(number=int(ref.removeprefix("INC-")))
    assert incident.status == Status.CLOSED
    assert (incident.impact, incident.urgency, incident.priority) == (2, 2, 2)
    assert incident.category == people["network"]
    assert incident.subcategory == people["vpn"]
    assert incident.assignee == people["responder"]
    assert incident.reporter == people["reporter"]
    assert incident.resolution_code == "configuration"
    assert incident.resolution_notes == RESOLUTION_NOTES
    assert incident.acknowledged_at is not None
    assert incident.resolved_at is not None
    assert incident.closed_at is not None
    assert incident.acknowledged_at <= incident.resolved_at <= incident.closed_at
    assert incident.attachments.get().filename == "vpn-error.png"

    for person in (rita, alice, rob):
        assert person.problems() == [], person.problems()
