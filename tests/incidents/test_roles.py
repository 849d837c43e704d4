"""Every cell of the role table (issue 2, point 8), at the service level.

Allowed cells do what they say; forbidden ones raise Forbidden (or NotFound where the
incident is not visible) and change nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.incidents.helpers import bring_to, entries, reload, snapshot
from tocsin.accounts.models import User
from tocsin.catalog.services import category_create
from tocsin.core.actors import Actor
from tocsin.core.errors import Forbidden, NotFound
from tocsin.incidents import selectors
from tocsin.incidents.models import Incident
from tocsin.incidents.selectors import IncidentFilters
from tocsin.incidents.services import (
    incident_acknowledge,
    incident_act,
    incident_add_note,
    incident_assign,
    incident_attach,
    incident_close,
    incident_confirm,
    incident_create,
    incident_escalate,
    incident_merge,
    incident_reopen,
    incident_resolve,
    incident_update,
    timeline_redact,
)

ROLES = ["reporter", "agent", "responder", "manager", "admin"]
ALL = frozenset(ROLES)
STAFF = ALL - {"reporter"}
CLOSERS = frozenset({"agent", "manager", "admin"})
ADMIN = frozenset({"admin"})


@dataclass
class World:
    users: dict[str, User]
    other_reporter: User
    worker: User  # an agent who prepares incidents
    make: Callable[..., Incident]


@pytest.fixture
def world(make_user, make_incident) -> World:
    users = {role: make_user(role) for role in ROLES}
    return World(
        users=users,
        other_reporter=make_user("reporter", username="rex"),
        worker=make_user("agent", username="wendy"),
        make=make_incident,
    )


def me(user: User) -> Actor:
    return Actor.for_user(user)


@dataclass
class Cell:
    name: str
    allowed: frozenset[str]
    own: bool  # the incident is reported by the person acting
    status: str  # the status the incident is brought to first
    run: Callable[[World, User, Incident], Any]
    check: Callable[[Incident], bool]
    denied: type[Exception] = Forbidden
    prepare: Callable[[World, Incident], Any] | None = None


def _resolve(user: User, incident: Incident) -> Any:
    return incident_resolve(
        incident=incident,
        actor=me(user),
        resolution_code="fixed",
        resolution_notes="done",
    )


def _merge(world: World, user: User, incident: Incident) -> Any:
    into = world.make(world.other_reporter, title="The original")
    return incident_merge(incident=incident, into=into, actor=me(user))


def _secret_note(world: World, incident: Incident) -> Any:
    return incident_add_note(incident=incident, actor=me(world.worker), text="password: hunter2")


def _redact(world: World, user: User, incident: Incident) -> Any:
    return timeline_redact(entry=entries(incident)[-1], actor=me(user))


def _upload() -> SimpleUploadedFile:
    return SimpleUploadedFile("shot.png", b"\x89PNG\r\n\x1a\nrest", content_type="image/png")


def _triage(world: World, user: User, incident: Incident) -> Any:
    category = category_create(name="Network", actor=Actor.system("test setup"))
    return incident_update(
        incident=incident,
        actor=me(user),
        changes={"category": category, "impact": 1, "urgency": 1},
    )


def _do(action: str) -> Callable[[World, User, Incident], Any]:
    return lambda w, u, i: incident_act(incident=i, actor=me(u), action=action)


def _is(status: str) -> Callable[[Incident], bool]:
    return lambda i: i.status == status


def _note_count(kind: str, visibility: str) -> Callable[[Incident], bool]:
    return lambda i: any(e.kind == kind and e.visibility == visibility for e in entries(i))


CELLS = [
    Cell(
        "see own",
        ALL,
        True,
        "new",
        lambda w, u, i: selectors.access_incident(u, i.ref),
        lambda i: True,
    ),
    Cell(
        "see others",
        STAFF,
        False,
        "new",
        lambda w, u, i: selectors.access_incident(u, i.number),
        lambda i: True,
        NotFound,
    ),
    Cell(
        "comment on own",
        ALL,
        True,
        "new",
        lambda w, u, i: incident_add_note(incident=i, actor=me(u), text="any news?"),
        lambda i: entries(i)[-1].text == "any news?",
    ),
    Cell(
        "comment on others",
        STAFF,
        False,
        "new",
        lambda w, u, i: incident_add_note(
            incident=i, actor=me(u), text="any news?", visibility="public"
        ),
        _note_count("note", "public"),
    ),
    Cell(
        "attach to own",
        ALL,
        True,
        "new",
        lambda w, u, i: incident_attach(incident=i, actor=me(u), upload=_upload()),
        lambda i: i.attachments.count() == 1,
    ),
    Cell(
        "attach to others",
        STAFF,
        False,
        "new",
        lambda w, u, i: incident_attach(incident=i, actor=me(u), upload=_upload()),
        lambda i: i.attachments.count() == 1,
    ),
    Cell(
        "internal note on own",
        STAFF,
        True,
        "new",
        lambda w, u, i: incident_add_note(
            incident=i, actor=me(u), text="internal", visibility="internal"
        ),
        _note_count("note", "internal"),
    ),
    Cell(
        "internal note on others",
        STAFF,
        False,
        "new",
        lambda w, u, i: incident_add_note(incident=i, actor=me(u), text="internal"),
        _note_count("note", "internal"),
    ),
    Cell("triage", STAFF, False, "new", _triage, lambda i: i.priority == 1),
    Cell(
        "triage own",
        STAFF,
        True,
        "new",
        lambda w, u, i: incident_update(incident=i, actor=me(u), changes={"urgency": 1}),
        lambda i: i.urgency == 1,
    ),
    Cell(
        "override priority",
        STAFF,
        False,
        "new",
        lambda w, u, i: incident_update(
            incident=i, actor=me(u), changes={"priority": 1}, priority_reason="CEO"
        ),
        lambda i: i.priority == 1 and i.priority_override_reason == "CEO",
    ),
    Cell(
        "assign",
        STAFF,
        False,
        "new",
        lambda w, u, i: incident_assign(incident=i, actor=me(u), assignee=w.worker),
        lambda i: i.assignee_id is not None,
    ),
    Cell(
        "escalate",
        STAFF,
        False,
        "new",
        lambda w, u, i: incident_escalate(incident=i, actor=me(u), support_level=2, note="L2"),
        lambda i: i.support_level == 2,
    ),
    *[
        Cell(
            f"{action} others",
            STAFF,
            False,
            start,
            _do(action),
            _is(to),
        )
        for action, start, to in [
            ("acknowledge", "new", "acknowledged"),
            ("unacknowledge", "acknowledged", "new"),
            ("start", "new", "in_progress"),
            ("hold", "in_progress", "on_hold"),
            ("resume", "on_hold", "in_progress"),
        ]
    ],
    Cell(
        "acknowledge own",
        STAFF,
        True,
        "new",
        lambda w, u, i: incident_acknowledge(incident=i, actor=me(u)),
        lambda i: i.status == "acknowledged",
    ),
    Cell(
        "resolve others",
        STAFF,
        False,
        "in_progress",
        lambda w, u, i: _resolve(u, i),
        lambda i: i.status == "resolved",
    ),
    Cell(
        "resolve own",
        STAFF,
        True,
        "in_progress",
        lambda w, u, i: _resolve(u, i),
        lambda i: i.status == "resolved",
    ),
    Cell(
        "close others",
        CLOSERS,
        False,
        "resolved",
        lambda w, u, i: incident_close(incident=i, actor=me(u)),
        lambda i: i.status == "closed",
    ),
    Cell(
        "close own",
        CLOSERS,
        True,
        "resolved",
        lambda w, u, i: incident_close(incident=i, actor=me(u)),
        lambda i: i.status == "closed",
    ),
    Cell(
        "confirm own",
        ALL,
        True,
        "resolved",
        lambda w, u, i: incident_confirm(incident=i, actor=me(u), accept=True),
        lambda i: i.status == "closed",
    ),
    Cell(
        "reject own (reopen)",
        ALL,
        True,
        "resolved",
        lambda w, u, i: incident_confirm(incident=i, actor=me(u), accept=False, note="no"),
        lambda i: i.status == "in_progress",
    ),
    Cell(
        "reopen own",
        ALL,
        True,
        "resolved",
        lambda w, u, i: incident_reopen(incident=i, actor=me(u), note="no"),
        lambda i: i.status == "in_progress",
    ),
    Cell(
        "reopen others",
        STAFF,
        False,
        "resolved",
        lambda w, u, i: incident_reopen(incident=i, actor=me(u)),
        lambda i: i.status == "in_progress",
    ),
    Cell(
        "merge",
        CLOSERS,
        False,
        "new",
        _merge,
        lambda i: i.duplicate_of_id is not None and i.status == "resolved",
    ),
    Cell(
        "redact",
        ADMIN,
        False,
        "new",
        _redact,
        lambda i: entries(i)[-1].redacted_at is not None and entries(i)[-1].text == "",
        prepare=_secret_note,
    ),
]

PARAMS = [(cell, role) for cell in CELLS for role in ROLES]


@pytest.mark.django_db
@pytest.mark.parametrize(("cell", "role"), PARAMS, ids=[f"{c.name}-{r}" for c, r in PARAMS])
def test_role_cell(cell: Cell, role: str, world: World, settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path
    user = world.users[role]
    owner = user if cell.own else world.other_reporter
    incident = bring_to(world.make(owner), cell.status, world.worker)
    if cell.prepare is not None:
        cell.prepare(world, incident)
    if role in cell.allowed:
        cell.run(world, user, incident)
        assert cell.check(reload(incident))
    else:
        before = snapshot(incident)
        with pytest.raises(cell.denied):
            cell.run(world, user, incident)
        assert snapshot(incident) == before


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_anyone_may_file(role: str, world: World) -> None:
    user = world.users[role]
    incident = incident_create(actor=me(user), title="VPN drops every hour")
    assert incident.reporter == user
    assert incident.status == "new"
    assert selectors.access_incident(user, incident.ref) == incident


@pytest.mark.django_db
def test_reporter_may_not_triage_while_filing(world: World) -> None:
    count = Incident.objects.count()
    for extra in (
        {"assignee": world.worker},
        {"priority": 1, "priority_reason": "urgent"},
        {"support_level": 2},
    ):
        with pytest.raises(Forbidden):
            incident_create(actor=me(world.users["reporter"]), title="Help", **extra)
    assert Incident.objects.count() == count


@pytest.mark.django_db
def test_reporter_queue_holds_only_own(world: World) -> None:
    rita = world.users["reporter"]
    mine = world.make(rita, title="mine")
    theirs = world.make(world.other_reporter, title="theirs")
    assert list(selectors.incident_list_for(rita, IncidentFilters())) == [mine]
    for role in STAFF:
        seen = set(selectors.incident_list_for(world.users[role], IncidentFilters()))
        assert {mine, theirs} <= seen


@pytest.mark.django_db
def test_reporter_confirming_others_is_forbidden(world: World) -> None:
    incident = bring_to(world.make(world.other_reporter), "resolved", world.worker)
    before = snapshot(incident)
    for accept in (True, False):
        with pytest.raises(Forbidden):
            incident_confirm(
                incident=incident, actor=me(world.users["reporter"]), accept=accept, note="x"
            )
    assert snapshot(incident) == before


@pytest.mark.django_db
def test_deactivated_staff_may_do_nothing(world: World) -> None:
    agent = world.users["agent"]
    incident = world.make(world.other_reporter)
    agent.is_active = False
    agent.save(update_fields=["is_active"])
    before = snapshot(incident)
    with pytest.raises(NotFound):
        selectors.access_incident(agent, incident.ref)
    with pytest.raises(Forbidden):
        incident_acknowledge(incident=incident, actor=me(agent))
    assert snapshot(incident) == before
