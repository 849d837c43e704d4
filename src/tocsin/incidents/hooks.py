"""What other apps ask to happen when an incident changes, without incidents importing them.

Incidents import no other domain app (issue 7, point 5). An app that must react to an
incident's resolve or merge, or that adds a section to the incident page, appends a
function here from its `AppConfig.ready()` (the alerts app does, in alerts/apps.py).

- `on_resolved` and `on_merged` are called by the incident services INSIDE the
  resolve's or merge's transaction, after the incident's own rows and timeline entries are
  written: an exception in a hook rolls the whole change back.
- `on_created` is called by `incident_create` inside its transaction, after the incident
  and its first timeline entry are written (the escalation app starts the service's
  escalation policy here).
- `on_transition` is called by `lifecycle.transition` (every status move, whoever makes
  it) inside the move's transaction, after the status and its timeline entry are
  written, with the action's name and the old and new status (the escalation app stops
  the climb on acknowledge and restarts it when an acknowledgement is taken back).
- `on_role_assigned` is called by `role_assign` inside its transaction after the
  assignment and its timeline entry are written (the escalation app notifies the new
  holder through their contact methods).
- `on_priority_changed` is called by `incident_update` inside its transaction after the
  incident is saved with its new priority (the comms app declares a P1 major).
- `on_service_changed` is called by `incident_update` inside its transaction after the
  incident is saved with another service, with the old service's id (the comms app
  declares a P2 major when its new service's rule says so).
- `on_escalated` is called by `incident_escalate` (functional escalation) inside its
  transaction after the incident and its timeline entry are saved, with the old support
  level and team id (the escalation app pages the receiving team's on-call).
- `on_major_declared` is called by `major_declare` inside its transaction (the comms app
  pages the major-incident policy and opens the checklist).
- `on_updated` is called by `incident_update` inside its transaction after the incident
  is saved with changed fields, with the names of the fields that changed (the learning
  app keeps the incident's search document in step with its text).
- `incident_page_sections` are called by the incident page view with the viewing user
  and the incident; each returns a `PageSection` to show, or None to show nothing.
  They are shown to staff only; `incident_page_reporter_sections` are the same for a
  viewer who is not staff (the incident's reporter): the hook decides what they may see.
- `new_incident_sections` are called by the two new-incident forms (the staff form and
  the reporter's portal) with the viewing user; each returns a `PageSection` shown under
  the description (the knowledge base suggests articles there while someone types).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from tocsin.accounts.models import User
    from tocsin.core.actors import Actor
    from tocsin.incidents.models import Incident, RoleAssignment


class ResolvedHook(Protocol):
    def __call__(self, *, incident: Incident, actor: Actor) -> object: ...


class MergedHook(Protocol):
    def __call__(self, *, incident: Incident, into: Incident, actor: Actor) -> object: ...


class CreatedHook(Protocol):
    def __call__(self, *, incident: Incident, actor: Actor) -> object: ...


class TransitionHook(Protocol):
    def __call__(
        self, *, incident: Incident, action: str, old: str, new: str, actor: Actor
    ) -> object: ...


class RoleAssignedHook(Protocol):
    def __call__(self, *, assignment: RoleAssignment, actor: Actor) -> object: ...


class PriorityChangedHook(Protocol):
    def __call__(self, *, incident: Incident, old: int, actor: Actor) -> object: ...


class ServiceChangedHook(Protocol):
    def __call__(
        self, *, incident: Incident, old_service_id: int | None, actor: Actor
    ) -> object: ...


class EscalatedHook(Protocol):
    def __call__(
        self, *, incident: Incident, old_level: int, old_team_id: int | None, actor: Actor
    ) -> object: ...


class MajorDeclaredHook(Protocol):
    def __call__(self, *, incident: Incident, actor: Actor, reason: str) -> object: ...


class UpdatedHook(Protocol):
    def __call__(self, *, incident: Incident, fields: list[str], actor: Actor) -> object: ...


@dataclass(frozen=True)
class PageSection:
    """A block of the incident page: a template included with `context` added."""

    template: str
    context: Mapping[str, Any] = field(default_factory=dict)


PageSectionHook = Callable[["User | None", "Incident"], PageSection | None]

on_resolved: list[ResolvedHook] = []
on_merged: list[MergedHook] = []
on_created: list[CreatedHook] = []
on_transition: list[TransitionHook] = []
on_role_assigned: list[RoleAssignedHook] = []
on_priority_changed: list[PriorityChangedHook] = []
on_service_changed: list[ServiceChangedHook] = []
on_escalated: list[EscalatedHook] = []
on_major_declared: list[MajorDeclaredHook] = []
incident_page_sections: list[PageSectionHook] = []
incident_page_reporter_sections: list[PageSectionHook] = []
FormSectionHook = Callable[["User | None"], PageSection | None]
new_incident_sections: list[FormSectionHook] = []
on_updated: list[UpdatedHook] = []


T = TypeVar("T")


def register(hooks: list[T], hook: T) -> None:
    """Append `hook` once (an app's ready() may run more than once in tests)."""
    if hook not in hooks:
        hooks.append(hook)


def run_resolved(*, incident: Incident, actor: Actor) -> None:
    for hook in on_resolved:
        hook(incident=incident, actor=actor)


def run_merged(*, incident: Incident, into: Incident, actor: Actor) -> None:
    for hook in on_merged:
        hook(incident=incident, into=into, actor=actor)


def run_created(*, incident: Incident, actor: Actor, affected: bool = False) -> None:
    """The on_created hooks; while they run, `being_created(incident)` is true.
    `affected`: the incident was filed with affected services."""
    incident._being_created = (True, affected)  # type: ignore[attr-defined]
    try:
        for hook in on_created:
            hook(incident=incident, actor=actor)
    finally:
        del incident._being_created  # type: ignore[attr-defined]


def being_created(incident: Incident) -> bool:
    """True while `incident_create` runs the on_created hooks for this instance: the
    incident was inserted a moment ago in this very transaction, so no other transaction
    can see or change it and no row refers to it yet but what `incident_create` and the
    hooks before wrote (no alert, checklist, commander deadline or search document). A
    hook may then skip the reads that could only find nothing (the storm's incidents
    open by the hundred, each read a statement, issue 10)."""
    return getattr(incident, "_being_created", None) is not None


def created_with_affected_services(incident: Incident) -> bool:
    """While `being_created`: whether it was filed with affected services."""
    return bool(getattr(incident, "_being_created", (False, False))[1])


def run_transition(*, incident: Incident, action: str, old: str, new: str, actor: Actor) -> None:
    for hook in on_transition:
        hook(incident=incident, action=action, old=old, new=new, actor=actor)


def run_role_assigned(*, assignment: RoleAssignment, actor: Actor) -> None:
    for hook in on_role_assigned:
        hook(assignment=assignment, actor=actor)


def run_priority_changed(*, incident: Incident, old: int, actor: Actor) -> None:
    for hook in on_priority_changed:
        hook(incident=incident, old=old, actor=actor)


def run_service_changed(*, incident: Incident, old_service_id: int | None, actor: Actor) -> None:
    for hook in on_service_changed:
        hook(incident=incident, old_service_id=old_service_id, actor=actor)


def run_escalated(
    *, incident: Incident, old_level: int, old_team_id: int | None, actor: Actor
) -> None:
    for hook in on_escalated:
        hook(incident=incident, old_level=old_level, old_team_id=old_team_id, actor=actor)


def run_major_declared(*, incident: Incident, actor: Actor, reason: str) -> None:
    for hook in on_major_declared:
        hook(incident=incident, actor=actor, reason=reason)


def run_updated(*, incident: Incident, fields: list[str], actor: Actor) -> None:
    for hook in on_updated:
        hook(incident=incident, fields=fields, actor=actor)


def page_sections(user: User | None, incident: Incident) -> list[PageSection]:
    return [
        section for hook in incident_page_sections if (section := hook(user, incident)) is not None
    ]


def reporter_page_sections(user: User | None, incident: Incident) -> list[PageSection]:
    return [
        section
        for hook in incident_page_reporter_sections
        if (section := hook(user, incident)) is not None
    ]


def new_incident_form_sections(user: User | None) -> list[PageSection]:
    return [section for hook in new_incident_sections if (section := hook(user)) is not None]


def new_incident_context(user: Any) -> dict[str, Any]:
    """What the new-incident forms add to their template context: the sections (as
    `new_incident_sections`) and each section's own context."""
    person = user if getattr(user, "is_authenticated", False) else None
    sections = new_incident_form_sections(person)
    context: dict[str, Any] = {"new_incident_sections": sections}
    for section in sections:
        context.update(section.context)
    return context


def reporter_page_context(user: Any, incident: Incident) -> dict[str, Any]:
    """What the incident page adds to its context for a viewer who is not staff: the
    sections (as `reporter_sections`) and each section's own context."""
    person = user if getattr(user, "is_authenticated", False) else None
    sections = reporter_page_sections(person, incident)
    context: dict[str, Any] = {"reporter_sections": sections}
    for section in sections:
        context.update(section.context)
    return context
