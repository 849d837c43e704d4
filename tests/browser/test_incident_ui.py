"""The incident page in Chromium, at 1400×900 and 390×844 (issue 8, points 2, 5, 6, 9).

Screenshots go to test-output/browser/<database>/<test>/.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tocsin.accounts.models import Role, User
from tocsin.accounts.services import team_create
from tocsin.catalog.services import service_create
from tocsin.core.actors import Actor
from tocsin.incidents.models import Incident
from tocsin.incidents.services import incident_create

from .conftest import PASSWORD, Watched

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install '.[dev]')"
)
expect = sync_api.expect

SIZES = {"desktop": {"width": 1400, "height": 900}, "phone": {"width": 390, "height": 844}}

SETUP = Actor.system("test setup")


@pytest.fixture
def world(make_user: Callable[..., User]) -> dict[str, Any]:
    """Twenty staff (a long list to pick from), a team, eight services, three incidents."""
    rita = make_user(Role.REPORTER, username="rita", name="Rita Reporter")
    alice = make_user(Role.AGENT, username="alice", name="Alice Agent")
    rob = make_user(Role.RESPONDER, username="rob", name="Rob Responder")
    make_user(Role.MANAGER, username="maya", name="Maya Manager")
    make_user(Role.ADMIN, username="ada", name="Ada Admin")
    for n in range(16):
        make_user(Role.AGENT, username=f"agent{n:02}", name=f"Desk Agent {n:02}")
    team_create(name="Network team", members=[rob], actor=SETUP)
    services = [
        service_create(name=name, actor=SETUP)
        for name in ("VPN", "Email", "Wi-Fi", "Printing", "Payroll", "CRM", "Intranet", "Phones")
    ]
    incidents = [
        incident_create(actor=Actor.for_user(rita), reporter=rita, title=title, service=services[0])
        for title in ("VPN drops every ten minutes", "Mail is slow", "Printer on fire")
    ]
    return {"alice": alice, "rob": rob, "services": services, "incidents": incidents}


def sized(watched: Watched, size: str) -> Page:
    watched.page.set_viewport_size(SIZES[size])
    return watched.page


def shot(page: Page, path: Path, *, full: bool = False) -> None:
    if full:  # from the top, so the sticky top bar stays at the top
        page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=path, full_page=full)


def in_viewport(page: Page, selector: str) -> bool:
    return bool(
        page.evaluate(
            """(sel) => { const r = document.querySelector(sel).getBoundingClientRect();
                return r.top >= 0 && r.bottom <= window.innerHeight; }""",
            selector,
        )
    )


def problems(watched: Watched) -> list[str]:
    """Console errors, page errors and CSP reports, less the 4xx answers a failed form gets
    on purpose."""
    return [p for p in watched.problems() if not re.search(r"status of 4\d\d", p)]


DUPLICATE_IDS = """() => {
  const seen = {};
  document.querySelectorAll('[id]').forEach(e => { seen[e.id] = (seen[e.id] || 0) + 1; });
  return Object.keys(seen).filter(id => seen[id] > 1);
}"""
HEADINGS_IN_SUMMARY = "() => document.querySelectorAll('summary :is(h1,h2,h3,h4,h5,h6)').length"
LABELS_WITHOUT_CONTROL = """() => Array.from(document.querySelectorAll('label[for]'))
  .filter(l => !document.getElementById(l.htmlFor)).map(l => l.htmlFor)"""


# --- point 2: errors you can see --------------------------------------------------------


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_a_failed_side_panel_form_shows_a_focused_summary_that_leads_to_the_field(
    open_as: Callable[[str], Watched], world: dict[str, Any], shots: Path, size: str
) -> None:
    incident: Incident = world["incidents"][1]
    alice = open_as("alice")
    page = sized(alice, size)
    page.goto(f"/incidents/{incident.ref}/")
    page.locator("#panel-merge > summary").click()
    page.get_by_label("Duplicate of").fill("INC-999")
    page.get_by_role("button", name="Merge into that incident").click()

    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("There is a problem")
    link = summary.get_by_role("link", name="Duplicate of: No incident INC-999.")
    expect(link).to_be_visible()
    expect(page.locator("#panel-merge")).to_have_attribute("open", "")
    assert in_viewport(page, "[data-error-summary]")
    shot(page, shots / f"merge-error-summary-{size}.png")

    link.click()
    field = page.locator("#merge_into")
    expect(field).to_be_focused()
    expect(field).to_have_value("INC-999")
    assert in_viewport(page, "#merge_into")
    shot(page, shots / f"merge-error-field-{size}.png")

    # The address bar holds the form's URL: reloading it is the incident page, not a 405.
    assert page.url.endswith(f"/incidents/{incident.ref}/merge/")
    response = page.goto(page.url)
    assert response is not None and response.status == 200
    expect(page).to_have_url(re.compile(rf"/incidents/{incident.ref}/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Mail is slow")
    assert problems(alice) == []


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_a_failed_resolve_opens_its_form_and_the_new_incident_page_has_the_summary(
    open_as: Callable[[str], Watched], world: dict[str, Any], shots: Path, size: str
) -> None:
    incident: Incident = world["incidents"][0]
    alice = open_as("alice")
    page = sized(alice, size)
    page.goto(f"/incidents/{incident.ref}/")
    page.locator("summary", has_text="Resolve…").click()
    resolve = page.locator("form[action$='/act/resolve/']")
    resolve.get_by_label(re.compile("^Resolution code")).select_option(label="Fixed")
    resolve.get_by_label(re.compile("^Resolution notes")).fill("   ")  # blank once trimmed
    resolve.get_by_role("button", name="Resolve").click()
    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("link")).to_have_count(1)
    expect(page.locator("#action-resolve")).to_have_attribute("open", "")
    summary.get_by_role("link", name=re.compile("^Resolution notes")).click()
    expect(page.locator("#id_resolve-resolution_notes")).to_be_focused()
    shot(page, shots / f"resolve-error-{size}.png")

    page.goto("/incidents/new/")
    page.get_by_role("button", name="Create incident").click()
    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("The incident was not created")
    shot(page, shots / f"new-incident-error-{size}.png")
    summary.get_by_role("link", name="Title: This field is required.").click()
    expect(page.get_by_label(re.compile("^Title"))).to_be_focused()
    assert problems(alice) == []


# --- point 5: unique ids, labels that name their control, no headings in summaries -------


def test_no_duplicate_ids_or_headings_in_summaries_on_the_incident_new_and_service_pages(
    open_as: Callable[[str], Watched], world: dict[str, Any], shots: Path
) -> None:
    incident: Incident = world["incidents"][0]
    ada = open_as("ada")
    page = sized(ada, "desktop")
    paths = [
        f"/incidents/{incident.ref}/",
        "/incidents/new/",
        f"/services/{world['services'][0].pk}/",
    ]
    for path in paths:
        page.goto(path)
        for details in page.locator("details").all():
            details.evaluate("d => d.open = true")
        assert page.evaluate(DUPLICATE_IDS) == [], path
        assert page.evaluate(HEADINGS_IN_SUMMARY) == 0, path
        assert page.evaluate(LABELS_WITHOUT_CONTROL) == [], path
    # The label "Team" of the escalate panel focuses the escalate panel's select.
    page.goto(f"/incidents/{incident.ref}/")
    page.locator("#panel-escalate > summary").click()
    page.locator("#panel-escalate label", has_text="Team").click()
    expect(page.locator("#escalate_team")).to_be_focused()
    page.locator("#panel-assign > summary").click()
    expect(page.get_by_role("combobox", name=re.compile("^Assignee"))).to_have_attribute(
        "placeholder", "Unassigned · type a name, username or team"
    )
    shot(page, shots / "incident-panels-open-desktop.png", full=True)
    page.goto(f"/services/{world['services'][0].pk}/")
    page.locator("summary", has_text="Add a silence…").click()
    page.locator("label[for='silence_starts_at']").click()
    expect(page.locator("#silence_starts_at")).to_be_focused()
    shot(page, shots / "service-silence-desktop.png", full=True)
    assert problems(ada) == []


# --- point 6: keyboard -------------------------------------------------------------------


def _tab_stops(page: Page, limit: int = 80) -> list[str]:
    page.locator("body").focus()
    page.evaluate("document.activeElement.blur()")
    stops = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        stops.append(
            page.evaluate(
                "() => { const e = document.activeElement;"
                " return (e.id || '') + '|' + (e.textContent || '').trim().slice(0, 30); }"
            )
        )
    return stops


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_actions_come_before_the_note_form_and_shortcuts_work_but_not_while_typing(
    open_as: Callable[[str], Watched], world: dict[str, Any], shots: Path, size: str
) -> None:
    first, second, third = world["incidents"]
    alice = open_as("alice")
    page = sized(alice, size)
    page.goto(f"/incidents/{second.ref}/")

    stops = _tab_stops(page)
    ack = next(i for i, s in enumerate(stops) if s == "|Acknowledge")
    note = next(i for i, s in enumerate(stops) if s.startswith("note_text|"))
    assert ack < note, stops

    # Typing in a field never fires a shortcut.
    textarea = page.locator("#note_text")
    textarea.click()
    page.keyboard.type("a r m j ? /")
    expect(textarea).to_have_value("a r m j ? /")
    expect(page.locator("dialog[open]")).to_have_count(0)
    expect(page.locator(".incident-head .pill")).to_have_text("New")
    textarea.fill("")
    textarea.blur()

    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_visible()
    for label in ("Acknowledge", "Resolve", "Assign to me", "Next open incident"):
        expect(dialog).to_contain_text(label)
    shot(page, shots / f"shortcuts-help-{size}.png")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    page.keyboard.press("/")
    expect(page.get_by_role("searchbox", name="Search incidents")).to_be_focused()
    page.keyboard.press("Escape")
    page.evaluate("document.activeElement.blur()")

    page.keyboard.press("r")
    expect(page.locator("#action-resolve")).to_have_attribute("open", "")
    expect(page.locator("#id_resolve-resolution_code")).to_be_focused()
    page.keyboard.press("a")  # inside the resolve form: nothing happens
    expect(page.locator(".incident-head .pill")).to_have_text("New")
    shot(page, shots / f"resolve-by-shortcut-{size}.png")
    page.evaluate("document.activeElement.blur()")

    page.keyboard.press("a")
    expect(page.locator(".flash")).to_have_text(f"{second.ref} acknowledged and assigned to you")
    expect(page.locator(".incident-head .pill")).to_have_text("Acknowledged")
    page.wait_for_load_state()

    page.keyboard.press("j")
    expect(page).to_have_url(re.compile(rf"/incidents/{third.ref}/$"))
    page.wait_for_load_state()
    page.keyboard.press("k")
    expect(page).to_have_url(re.compile(rf"/incidents/{second.ref}/$"))
    page.wait_for_load_state()
    page.keyboard.press("k")
    expect(page).to_have_url(re.compile(rf"/incidents/{first.ref}/$"))
    page.wait_for_load_state()
    page.keyboard.press("m")
    expect(page.locator(".flash")).to_have_text(f"{first.ref} assigned to you")
    shot(page, shots / f"incident-top-{size}.png")
    assert problems(alice) == []


# --- point 9: acknowledge means mine, assign to me, the people picker -----------------------


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_the_people_picker_and_the_service_filter_on_the_new_incident_page(
    open_as: Callable[[str], Watched], world: dict[str, Any], shots: Path, size: str
) -> None:
    alice = open_as("alice")
    page = sized(alice, size)
    page.goto("/incidents/new/")
    page.get_by_label(re.compile("^Title")).fill("Line card failure in Lisbon")
    assignee = page.get_by_role("combobox", name=re.compile("^Assignee"))
    assignee.fill("netw")  # a team's name finds its members
    options = page.get_by_role("listbox").get_by_role("option")
    expect(options).to_have_count(1)
    expect(options.first).to_contain_text("Rob Responder (rob)")
    expect(options.first.locator(".picker-meta")).to_have_text("Network team")
    shot(page, shots / f"picker-open-{size}.png")
    assignee.press("Enter")
    expect(assignee).to_have_value("Rob Responder (rob)")

    assignee.fill("desk agent 1")
    expect(options).to_have_count(7)  # every word matches: Desk Agent 01 and 10–15
    assignee.press("ArrowDown")
    assignee.press("Escape")
    expect(assignee).to_have_value("Rob Responder (rob)")  # Escape keeps the choice

    services = page.get_by_role("group", name=re.compile("^Affected services"))
    services.get_by_role("searchbox").fill("mai")
    expect(services.get_by_role("checkbox", name="Email")).to_be_visible()
    expect(services.get_by_role("checkbox", name="Payroll")).to_be_hidden()
    services.get_by_role("checkbox", name="Email").check()
    shot(page, shots / f"services-filter-{size}.png")
    page.get_by_role("button", name="Create incident").click()

    expect(page.locator(".flash")).to_contain_text("created")
    details = page.locator("dl.fields")
    expect(details.locator("dt:text-is('Assignee') + dd")).to_have_text("Rob Responder")
    expect(details.locator("dt:text-is('Affected services') + dd")).to_have_text("Email")
    assert problems(alice) == []


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_acknowledging_makes_it_mine_and_assign_to_me_is_one_click(
    open_as: Callable[[str], Watched], world: dict[str, Any], shots: Path, size: str
) -> None:
    first, second, _ = world["incidents"]
    alice = open_as("alice")
    page = sized(alice, size)
    page.goto(f"/incidents/{first.ref}/")
    expect(page.get_by_text("Acknowledging also assigns it to you.")).to_be_visible()
    page.get_by_role("button", name="Acknowledge", exact=True).click()
    expect(page.locator(".flash")).to_have_text(f"{first.ref} acknowledged and assigned to you")
    fields = page.locator("dl.fields")
    expect(fields.locator("dt:text-is('Assignee') + dd")).to_have_text("Alice Agent")
    expect(fields.locator("dt:text-is('Acknowledged') + dd")).to_contain_text("by Alice Agent")
    expect(page.locator("ol.timeline")).to_contain_text(
        "acknowledged while unassigned, so it is assigned to Alice Agent"
    )
    shot(page, shots / f"acknowledged-mine-{size}.png", full=True)

    page.goto(f"/incidents/{second.ref}/")
    page.get_by_role("button", name="Assign to me").click()
    expect(page.locator(".flash")).to_have_text(f"{second.ref} assigned to you")
    expect(page.get_by_role("button", name="Assign to me")).to_have_count(0)

    # Reassigning through the panel's picker, by username.
    page.locator("#panel-assign > summary").click()
    picker = page.get_by_role("combobox", name=re.compile("^Assignee"))
    picker.fill("rob")
    picker.press("Enter")
    shot(page, shots / f"assign-panel-{size}.png")
    page.get_by_role("button", name="Save assignment").click()
    expect(page.locator(".flash")).to_have_text(f"{second.ref} assigned to Rob Responder")
    assert problems(alice) == []


def test_the_pickers_work_without_javascript(
    browser: Browser, live_server: Any, world: dict[str, Any], shots: Path
) -> None:
    incident: Incident = world["incidents"][0]
    context = browser.new_context(
        viewport=SIZES["desktop"], base_url=live_server.url, java_script_enabled=False
    )
    try:
        page = context.new_page()
        page.goto("/login/")
        page.get_by_label("Username").fill("alice")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.goto(f"/incidents/{incident.ref}/")
        page.locator("#panel-assign > summary").click()
        page.get_by_label(re.compile("^Assignee")).select_option(label="Rob Responder (rob)")
        shot(page, shots / "assign-without-js.png", full=True)
        page.get_by_role("button", name="Save assignment").click()
        expect(page.locator(".flash")).to_have_text(f"{incident.ref} assigned to Rob Responder")

        page.goto("/incidents/new/")
        page.get_by_label(re.compile("^Title")).fill("Phones dead")
        page.get_by_role("checkbox", name="Phones").check()
        page.get_by_label(re.compile("^Assignee")).select_option(label="Alice Agent (alice)")
        page.get_by_role("button", name="Create incident").click()
        fields = page.locator("dl.fields")
        expect(fields.locator("dt:text-is('Affected services') + dd")).to_have_text("Phones")
        expect(fields.locator("dt:text-is('Assignee') + dd")).to_have_text("Alice Agent")
    finally:
        context.close()


def test_an_oversized_upload_is_named_in_the_summary_and_leads_to_the_file_field(
    open_as: Callable[[str], Watched], world: dict[str, Any], shots: Path, settings: Any
) -> None:
    settings.TOCSIN_ATTACHMENT_MAX_BYTES = 1024 * 1024
    incident: Incident = world["incidents"][0]
    alice = open_as("alice")
    page = sized(alice, "phone")
    page.goto(f"/incidents/{incident.ref}/")
    page.locator("#attach_files").set_input_files(
        [{"name": "huge.log", "mimeType": "text/plain", "buffer": b"x" * (1536 * 1024)}]
    )
    page.get_by_role("button", name="Upload").click()
    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_focused()
    link = summary.get_by_role("link", name="Files: huge.log is larger than the limit of 1 MB.")
    shot(page, shots / "upload-error-phone.png")
    link.click()
    expect(page.locator("#attach_files")).to_be_focused()
    assert in_viewport(page, "#attach_files")
    shot(page, shots / "upload-error-field-phone.png")
    assert problems(alice) == []


def test_the_agents_story_by_keyboard_alone(
    open_as: Callable[[str], Watched], world: dict[str, Any], shots: Path
) -> None:
    """Queue → incident → assign to me → acknowledge → resolve, without the mouse."""
    incident: Incident = world["incidents"][2]
    alice = open_as("alice")
    page = sized(alice, "desktop")
    page.goto("/")
    page.evaluate("document.activeElement.blur()")
    for _ in range(120):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == incident.ref:
            break
    else:
        pytest.fail(f"no link to {incident.ref} reached by Tab")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/incidents/{incident.ref}/$"))
    page.wait_for_load_state()

    page.keyboard.press("m")
    expect(page.locator(".flash")).to_have_text(f"{incident.ref} assigned to you")
    page.wait_for_load_state()
    page.keyboard.press("a")
    expect(page.locator(".flash")).to_have_text(f"{incident.ref} acknowledged")
    page.wait_for_load_state()

    page.keyboard.press("r")
    code = page.locator("#id_resolve-resolution_code")
    expect(code).to_be_focused()
    code.press("ArrowDown")  # the first code after "—"
    expect(code).not_to_have_value("")
    page.keyboard.press("Tab")
    page.keyboard.type("Cleared the paper path; printer tested.")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Resolve", exact=True)).to_be_focused()
    shot(page, shots / "keyboard-resolve-desktop.png")
    page.keyboard.press("Enter")
    expect(page.locator(".flash")).to_have_text(f"{incident.ref} resolved")
    expect(page.locator(".incident-head .pill")).to_have_text("Resolved")
    assert problems(alice) == []
