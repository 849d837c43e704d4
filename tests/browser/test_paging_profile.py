"""The paging page in Chromium, as a responder uses it: from their name in the top bar to
/me/paging/; a contact method added with the password (a wrong one first); a failed one
flagged; a rule row added with "Add a row" and saved; axe finds nothing; desktop and
phone. Screenshots in test-output/browser/<db>/<test>/."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tocsin.accounts.models import ContactMethod, NotificationRule, Role, User
from tocsin.accounts.services import contact_method_add
from tocsin.core.actors import Actor
from tocsin.core.clock import now

from .a11y import axe_violations
from .conftest import PASSWORD, Watched, expect

pytestmark = pytest.mark.django_db(transaction=True)
DESKTOP = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}


def test_a_responder_sets_up_how_they_are_paged(
    open_as: Callable[[str], Watched], make_user: Callable[..., User], shots: Path
) -> None:
    rob = make_user(Role.RESPONDER, username="rob", name="Rob Responder")
    email = contact_method_add(
        user=rob, kind="email", address="rob@example.com", actor=Actor.system("t")
    )
    failed = contact_method_add(
        user=rob, kind="sms", address="+441632960000", label="Old phone", actor=Actor.system("t")
    )
    ContactMethod.objects.filter(pk=email.pk).update(last_delivery_ok=True, last_delivery_at=now())
    ContactMethod.objects.filter(pk=failed.pk).update(
        last_delivery_ok=False, last_delivery_at=now(), last_error="provider said: unknown number"
    )
    watched = open_as("rob")
    page = watched.page
    page.set_viewport_size(DESKTOP)
    page.locator(".who-name a").click()
    page.wait_for_load_state()
    expect(page.get_by_role("heading", name="My paging")).to_be_visible()
    expect(page.locator(".pg-method.pg-failed")).to_have_count(1)
    expect(page.locator(".pg-failed")).to_contain_text("provider said: unknown number")
    expect(page.locator("#rules-high .pg-defaults")).to_contain_text("You get the defaults")
    page.screenshot(path=str(shots / "desktop-start.png"), full_page=True)

    # adding: a wrong password first changes nothing
    add = page.locator("#add")
    add.get_by_label("Kind").select_option("voice")
    add.get_by_label("Address").fill("+44 1632 960999")
    add.get_by_label("Label").fill("New phone")
    add.get_by_label("Your password").fill("wrong")
    add.get_by_role("button", name="Add contact method").click()
    page.wait_for_load_state()
    expect(page.locator("#add")).to_contain_text("That is not your password")
    assert ContactMethod.objects.filter(user=rob).count() == 2
    page.screenshot(path=str(shots / "desktop-wrong-password.png"), full_page=True)
    watched.console_errors.clear()  # the browser logs the refusal's 422 status
    add.get_by_label("Your password").fill(PASSWORD)
    add.get_by_role("button", name="Add contact method").click()
    page.wait_for_load_state()
    expect(page.locator(".flash-success")).to_contain_text("Voice call (New phone) added")
    assert ContactMethod.objects.filter(user=rob, kind="voice").count() == 1

    # a rule row added with the button, then saved
    form = page.locator("#rules-high")
    rows_before = form.locator("[data-rule-row]").count()
    form.get_by_role("button", name="Add a row").click()
    expect(form.locator("[data-rule-row]")).to_have_count(rows_before + 1)
    form.get_by_role("button", name="Add a row").click()
    expect(form.locator("[data-rule-row]")).to_have_count(rows_before + 2)
    form.locator("[data-rule-row]").last.get_by_role("button", name="Remove").click()
    expect(form.locator("[data-rule-row]")).to_have_count(rows_before + 1)
    ids = form.locator("[data-rule-row] select").evaluate_all("els => els.map(e => e.id)")
    assert ids == [f"rule-high-{n}-method" for n in range(1, rows_before + 2)], ids
    last = form.locator("[data-rule-row]").last
    last.locator("select").select_option(label="Voice call (New phone)")
    last.locator("input").fill("10")
    form.get_by_role("button", name="Save high urgency rules").click()
    page.wait_for_load_state()
    expect(page.locator(".flash-success")).to_contain_text("High-urgency rules saved")
    stored = NotificationRule.objects.filter(user=rob, urgency="high")
    assert stored.filter(contact_method__kind="voice", delay_minutes=10).count() == 1, list(
        stored.values_list("contact_method__kind", "delay_minutes")
    )
    expect(page.locator("#rules-high .pg-defaults")).to_contain_text("Now:")

    violations = axe_violations(page)
    assert not violations, [v.line_target() for v in violations]
    assert not watched.problems(), watched.problems()
    page.screenshot(path=str(shots / "desktop-saved.png"), full_page=True)

    page.set_viewport_size(PHONE)
    page.goto("/me/paging/")
    page.locator(f"#method-{failed.pk} summary").click()
    expect(page.locator(f"#remove-{failed.pk}-password")).to_be_visible()
    page.screenshot(path=str(shots / "phone.png"), full_page=True)
    page.locator("#contact-methods").screenshot(path=str(shots / "phone-methods.png"))
    page.locator("#rules-high").screenshot(path=str(shots / "phone-rules.png"))
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways on a phone ({width}px)"
    page.locator(f"#remove-{failed.pk}-password").fill(PASSWORD)
    page.get_by_role("button", name="Remove this method").click()
    page.wait_for_load_state()
    expect(page.locator(".flash-success")).to_contain_text("SMS (Old phone) removed")
    failed.refresh_from_db()
    assert failed.disabled_at is not None
    assert not watched.problems(), watched.problems()


def test_the_people_list_flags_who_cannot_be_paged(
    open_as: Callable[[str], Watched], make_user: Callable[..., User], shots: Path
) -> None:
    make_user(Role.ADMIN, username="ada", name="Ada Admin")
    rob = make_user(Role.RESPONDER, username="rob", name="Rob Responder")
    make_user(Role.AGENT, username="alice", name="Alice Agent")
    contact_method_add(user=rob, kind="email", address="rob@example.com", actor=Actor.system("t"))
    watched = open_as("ada")
    page = watched.page
    for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        page.goto("/")
        page.get_by_role("navigation", name="Main").get_by_role("link", name="People").click()
        page.wait_for_load_state()
        expect(page.locator(".pg-person-problem")).to_have_count(2)  # ada and alice
        expect(page.get_by_role("status")).to_contain_text("2 people cannot be paged")
        violations = axe_violations(page)
        assert not violations, [v.line_target() for v in violations]
        page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], f"{name}: the page scrolls sideways ({width}px)"
    page.get_by_role("link", name="Alice Agent").click()
    page.wait_for_load_state()
    expect(page.get_by_role("heading", name="Paging: Alice Agent")).to_be_visible()
    expect(page.locator(".pg-problem")).to_contain_text("cannot be paged at high urgency")
    page.screenshot(path=str(shots / "phone-alice.png"), full_page=True)
    assert not watched.problems(), watched.problems()
