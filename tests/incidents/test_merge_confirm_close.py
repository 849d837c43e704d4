"""Merge, the reporter's confirmation (with and without the signed link), auto-close."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.incidents.helpers import T0, act, bring_to, entries, reload, snapshot, transitions
from tocsin.core.actors import Actor
from tocsin.core.errors import Conflict, Forbidden, Invalid
from tocsin.incidents.engine import AutoCloseModule
from tocsin.incidents.services import (
    confirmation_token,
    incident_auto_close,
    incident_confirm,
    incident_merge,
)

DAY = dt.timedelta(days=1)


# --- merge ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_merge(agent, reporter, make_incident, clock):
    original = make_incident(reporter, title="VPN down")
    duplicate = bring_to(make_incident(reporter, title="VPN down again"), "acknowledged", agent)
    clock.shift(dt.timedelta(minutes=5))
    incident_merge(incident=duplicate, into=original, actor=Actor.for_user(agent), note="same")
    merged = reload(duplicate)
    assert merged.status == "resolved"
    assert merged.resolution_code == "duplicate"
    assert merged.resolution_notes == f"Duplicate of {original.ref}"
    assert merged.duplicate_of == original
    assert merged.resolved_at == T0 + dt.timedelta(minutes=5)
    assert list(reload(original).duplicates.all()) == [merged]
    assert transitions(duplicate)[-1].data == {
        "action": "resolve",
        "from": "acknowledged",
        "to": "resolved",
    }
    [on_duplicate] = entries(duplicate, "merge")
    [on_original] = entries(original, "merge")
    assert on_duplicate.data == {"into": original.ref}
    assert on_original.data == {"from": duplicate.ref}
    assert on_duplicate.actor_user == on_original.actor_user == agent
    assert reload(original).status == "new"


@pytest.mark.django_db
def test_merge_refusals(agent, reporter, make_incident):
    a = make_incident(reporter)
    b = make_incident(reporter)
    closed = bring_to(make_incident(reporter), "closed", agent)
    before = [snapshot(x) for x in (a, b, closed)]
    with pytest.raises(Invalid) as caught:
        incident_merge(incident=a, into=a, actor=Actor.for_user(agent))
    assert caught.value.field == "into"
    with pytest.raises(Conflict):
        incident_merge(incident=closed, into=a, actor=Actor.for_user(agent))
    with pytest.raises(Conflict):
        incident_merge(incident=a, into=closed, actor=Actor.for_user(agent))
    assert [snapshot(x) for x in (a, b, closed)] == before
    incident_merge(incident=a, into=b, actor=Actor.for_user(agent))
    c = make_incident(reporter)
    with pytest.raises(Conflict, match="original"):
        incident_merge(incident=c, into=a, actor=Actor.for_user(agent))


# --- the reporter's confirmation --------------------------------------------------------


@pytest.mark.django_db
def test_reporter_confirms_and_it_closes(agent, reporter, make_incident, clock):
    incident = bring_to(make_incident(reporter), "resolved", agent)
    clock.shift(DAY)
    incident_confirm(incident=incident, actor=Actor.for_user(reporter), accept=True)
    closed = reload(incident)
    assert closed.status == "closed"
    assert closed.closed_at == T0 + DAY
    [confirmation] = entries(incident, "confirmation")
    assert confirmation.data == {"accepted": True}
    assert confirmation.visibility == "public"
    assert transitions(incident)[-1].data["action"] == "close"
    assert transitions(incident)[-1].actor_user == reporter


@pytest.mark.django_db
def test_reporter_rejection_needs_a_note_and_reopens(agent, reporter, make_incident, clock):
    incident = bring_to(make_incident(reporter), "resolved", agent)
    before = snapshot(incident)
    for note in ("", "  "):
        with pytest.raises(Invalid) as caught:
            incident_confirm(
                incident=incident, actor=Actor.for_user(reporter), accept=False, note=note
            )
        assert caught.value.field == "note"
    assert snapshot(incident) == before
    incident_confirm(
        incident=incident, actor=Actor.for_user(reporter), accept=False, note="still broken"
    )
    reopened = reload(incident)
    assert reopened.status == "in_progress"
    assert reopened.resolution_met_at is None
    [confirmation] = entries(incident, "confirmation")
    assert (confirmation.text, confirmation.data) == ("still broken", {"accepted": False})


@pytest.mark.django_db
def test_confirming_an_unresolved_incident_conflicts(reporter, make_incident):
    incident = make_incident(reporter)
    before = snapshot(incident)
    with pytest.raises(Conflict):
        incident_confirm(incident=incident, actor=Actor.for_user(reporter), accept=True)
    assert snapshot(incident) == before


@pytest.mark.django_db
def test_signed_link_works_without_login(agent, reporter, make_incident, clock):
    incident = bring_to(make_incident(reporter), "resolved", agent)
    token = confirmation_token(reload(incident))
    incident_confirm(incident=incident, accept=True, token=token)
    closed = reload(incident)
    assert closed.status == "closed"
    [confirmation] = entries(incident, "confirmation")
    assert confirmation.actor_user == reporter
    assert "confirmation link" in confirmation.actor_label


@pytest.mark.django_db
def test_signed_link_for_an_outside_reporter(agent, clock):
    from tocsin.incidents.services import incident_create

    incident = incident_create(
        actor=Actor.for_user(agent),
        title="Website down",
        reporter_name="Olga Outsider",
        reporter_email="olga@example.org",
    )
    assert incident.reporter is None
    incident = bring_to(incident, "resolved", agent)
    token = confirmation_token(incident)
    incident_confirm(incident=incident, accept=False, note="not fixed for me", token=token)
    assert reload(incident).status == "in_progress"
    [confirmation] = entries(incident, "confirmation")
    assert confirmation.actor_kind == "integration"
    assert "Olga Outsider" in confirmation.actor_label


@pytest.mark.django_db
def test_signed_link_refused_when_tampered(agent, reporter, make_incident, clock):
    incident = bring_to(make_incident(reporter), "resolved", agent)
    other = bring_to(make_incident(reporter), "resolved", agent)
    token = confirmation_token(incident)
    before = snapshot(incident)
    forged = [
        token[:-1] + ("A" if token[-1] != "A" else "B"),
        token.replace(f"{incident.number}:", f"{other.number}:", 1),
        "garbage",
    ]
    for bad in forged:
        with pytest.raises(Invalid) as caught:
            incident_confirm(incident=incident, accept=True, token=bad)
        assert caught.value.field == "token"
    # no link and no login: only the reporter may
    with pytest.raises(Forbidden):
        incident_confirm(incident=incident, accept=True, token="")
    # a real link for another incident does not work here
    with pytest.raises(Invalid):
        incident_confirm(incident=incident, accept=True, token=confirmation_token(other))
    assert snapshot(incident) == before


@pytest.mark.django_db
def test_signed_link_refused_after_reopen_and_new_resolve(agent, reporter, make_incident, clock):
    incident = bring_to(make_incident(reporter), "resolved", agent)
    old_token = confirmation_token(reload(incident))
    # Even with the clock standing still, the second resolution has its own link.
    act(incident, agent, "reopen")
    with pytest.raises(Invalid, match="earlier resolution"):
        incident_confirm(incident=incident, accept=True, token=old_token)
    assert reload(incident).status == "in_progress"
    act(incident, agent, "resolve")
    before = snapshot(incident)
    with pytest.raises(Invalid, match="earlier resolution"):
        incident_confirm(incident=incident, accept=True, token=old_token)
    assert snapshot(incident) == before
    new_token = confirmation_token(reload(incident))
    incident_confirm(incident=incident, accept=True, token=new_token)
    assert reload(incident).status == "closed"
    # and a used link cannot be used again
    with pytest.raises((Invalid, Conflict)):
        incident_confirm(incident=incident, accept=False, note="x", token=new_token)


@pytest.mark.django_db
def test_signed_link_expires(agent, reporter, make_incident, clock):
    incident = bring_to(make_incident(reporter), "resolved", agent)
    token = confirmation_token(reload(incident))
    clock.shift(31 * DAY)
    with pytest.raises(Invalid, match="expired"):
        incident_confirm(incident=incident, accept=True, token=token)
    assert reload(incident).status == "resolved"


# --- auto-close -------------------------------------------------------------------------


@pytest.mark.django_db
def test_auto_close_after_the_quiet_period(agent, reporter, make_incident, clock, settings):
    settings.TOCSIN_AUTO_CLOSE_DAYS = 3
    incident = bring_to(make_incident(reporter), "resolved", agent)
    module = AutoCloseModule()
    almost = T0 + 3 * DAY - dt.timedelta(seconds=1)
    clock.move_to(almost)
    assert module.tick(almost) == 0
    assert incident_auto_close(incident=reload(incident)) is False
    assert reload(incident).status == "resolved"
    clock.move_to(T0 + 3 * DAY)
    assert module.tick(T0 + 3 * DAY) == 1
    closed = reload(incident)
    assert closed.status == "closed"
    assert closed.closed_at == T0 + 3 * DAY
    last = transitions(incident)[-1]
    assert last.data == {"action": "close", "from": "resolved", "to": "closed"}
    assert (last.actor_kind, last.actor_label) == ("system", "auto-close")
    assert module.tick(T0 + 3 * DAY) == 0
    assert [t.data["action"] for t in transitions(incident)] == ["resolve", "close"]


@pytest.mark.django_db
def test_auto_close_counts_from_the_last_resolve(agent, reporter, make_incident, clock, settings):
    settings.TOCSIN_AUTO_CLOSE_DAYS = 3
    incident = bring_to(make_incident(reporter), "resolved", agent)
    stale = reload(incident)
    clock.move_to(T0 + DAY)
    act(incident, agent, "reopen")
    clock.move_to(T0 + 2 * DAY)
    act(incident, agent, "resolve")
    module = AutoCloseModule()
    clock.move_to(T0 + 4 * DAY)
    assert module.tick(T0 + 4 * DAY) == 0
    assert incident_auto_close(incident=stale) is False  # a stale copy of the first resolve
    assert reload(incident).status == "resolved"
    clock.move_to(T0 + 5 * DAY)
    assert module.tick(T0 + 5 * DAY) == 1
    assert reload(incident).status == "closed"


@pytest.mark.django_db
def test_reopened_incidents_are_not_auto_closed(agent, reporter, make_incident, clock, settings):
    settings.TOCSIN_AUTO_CLOSE_DAYS = 2
    incident = bring_to(make_incident(reporter), "resolved", agent)
    clock.move_to(T0 + DAY)
    act(incident, agent, "reopen")
    clock.move_to(T0 + 30 * DAY)
    assert AutoCloseModule().tick(T0 + 30 * DAY) == 0
    assert reload(incident).status == "in_progress"
