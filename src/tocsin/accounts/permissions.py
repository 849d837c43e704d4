"""Who may do what: the one permission check of Tocsin.

Every gate — API handlers, views, templates (the `can` filter of `{% load access %}`),
selectors and services — asks `can(user, action, obj)`. Nothing else looks at a role.

Roles (accounts.models.Role):

- reporter: files incidents, sees and comments on their own, confirms or reopens
  their own resolution;
- agent, responder, manager, admin ("staff"): the service desk — every incident,
  internal notes, alerts, windows and silences, triage, assignment, work actions;
- agent, manager, admin also close and merge;
- manager, admin set up integrations and a service's alert settings;
- admin alone manages people, teams, services, the taxonomy and configuration,
  redacts timeline entries and reads the audit log.

Teams: the manager of a team (``Team.manager``) edits what the team owns — its
schedules and escalation policies (`schedule.edit`, `policy.edit`). The object is a
`Team` or anything owned by one (a ``team_id`` attribute, e.g. a `Service`).

Objects: `obj=None` asks about every object of the kind ("may see every incident"),
an object asks about that one ("may see INC-7": staff, or its reporter).

An inactive or anonymous person may do nothing.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import QuerySet

from tocsin.accounts.models import Role, Team, User
from tocsin.core.errors import Forbidden

STAFF_ROLES = frozenset({Role.AGENT, Role.RESPONDER, Role.MANAGER, Role.ADMIN})
CLOSE_ROLES = frozenset({Role.AGENT, Role.MANAGER, Role.ADMIN})
INTEGRATION_ROLES = frozenset({Role.MANAGER, Role.ADMIN})
ADMIN_ROLES = frozenset({Role.ADMIN})


class Action(models.TextChoices):
    # the service-desk pages (queue, alerts, services); reporters use the portal
    DESK_VIEW = "desk.view", "use the service-desk pages"
    # incidents (obj: an Incident, or None for every incident)
    INCIDENT_VIEW = "incident.view", "see incidents"
    INCIDENT_CREATE = "incident.create", "file incidents"
    INCIDENT_TRIAGE = "incident.triage", "triage incidents"
    INCIDENT_ASSIGN = "incident.assign", "assign incidents"
    INCIDENT_BE_ASSIGNED = "incident.be_assigned", "be assigned incidents"
    INCIDENT_ACKNOWLEDGE = "incident.acknowledge", "acknowledge incidents"
    INCIDENT_UNACKNOWLEDGE = "incident.unacknowledge", "unacknowledge incidents"
    INCIDENT_START = "incident.start", "start work on incidents"
    INCIDENT_HOLD = "incident.hold", "put incidents on hold"
    INCIDENT_RESUME = "incident.resume", "resume incidents"
    INCIDENT_RESOLVE = "incident.resolve", "resolve incidents"
    INCIDENT_CLOSE = "incident.close", "close incidents"
    INCIDENT_REOPEN = "incident.reopen", "reopen incidents"
    INCIDENT_CONFIRM = "incident.confirm", "confirm or reopen this resolution"
    INCIDENT_ESCALATE = "incident.escalate", "escalate incidents"
    INCIDENT_MERGE = "incident.merge", "merge incidents"
    INCIDENT_COMMENT = "incident.comment", "comment on incidents"
    INCIDENT_REDACT = "incident.redact", "redact timeline entries"
    INCIDENT_MITIGATE = "incident.mitigate", "mark incidents mitigated"
    TIMELINE_INTERNAL_VIEW = "timeline.internal.view", "see internal notes and attachments"
    TIMELINE_INTERNAL_ADD = "timeline.internal.add", "add internal notes and attachments"
    # alerts, services, integrations
    ALERTS_VIEW = "alerts.view", "see alerts and integrations"
    WINDOW_MANAGE = "window.manage", "manage maintenance windows"
    SILENCE_MANAGE = "silence.manage", "manage silences"
    ALERT_ACT = "alert.act", "acknowledge and resolve alerts"
    INTEGRATION_MANAGE = (
        "integration.manage",
        "manage integrations (administrators and managers may)",
    )
    SERVICE_EDIT = "service.edit", "manage services"
    # people, teams, configuration
    PEOPLE_VIEW = "people.view", "see other people"
    PEOPLE_MANAGE = "people.manage", "manage people"
    TEAM_VIEW = "team.view", "see teams"
    TEAM_MANAGE = "team.manage", "manage teams"
    CONFIG_MANAGE = "config.manage", "manage the configuration"
    AUDIT_VIEW = "audit.view", "read the audit log"
    # what a team owns: its manager edits it (schedules and policies come with paging)
    SCHEDULE_EDIT = "schedule.edit", "edit this team's schedules"
    # on-call schedules: staff see them; managers and administrators create them; the
    # manager of the owning team (or an administrator) edits one; its participants (and
    # its editors) add overrides and ask for cover; they and the owning team's members
    # accept cover requests
    SCHEDULE_VIEW = "schedule.view", "see on-call schedules"
    SCHEDULE_CREATE = "schedule.create", "create on-call schedules"
    SCHEDULE_OVERRIDE = (
        "schedule.override",
        "add overrides and cover requests to this schedule (its people and editors may)",
    )
    SCHEDULE_COVER = (
        "schedule.cover",
        "cover shifts on this schedule (its people and the owning team may)",
    )
    POLICY_EDIT = "policy.edit", "edit this team's escalation policies"
    # paging (issue 10): staff see escalation policies and page by hand; managers and
    # administrators create policies and attach them to services; each person manages
    # their own contact methods and notification rules (administrators anyone's);
    # administrators read the delivery log
    POLICY_VIEW = "policy.view", "see escalation policies"
    POLICY_CREATE = "policy.create", "create escalation policies"
    SERVICE_PAGING = "service.paging", "choose how a service pages"
    PAGE_SEND = "page.send", "page people and escalate by hand"
    CONTACT_MANAGE = "contact.manage", "manage this person's contact methods and rules"
    DELIVERY_LOG_VIEW = "delivery.view", "read the delivery log"
    # hours on call (the basis of on-call pay): staff see their own; managers and
    # administrators see everyone's
    ONCALL_HOURS_ALL = "oncall.hours.all", "see everyone's hours on call"
    # escalation (issue 11): any staff member may tell an incident team's manager; only
    # managers and administrators reach the executive list, which administrators keep;
    # a team's manager (or an administrator) edits the team's hand-off note template
    MANAGEMENT_NOTIFY = "management.notify", "notify a team's manager"
    EXECUTIVES_NOTIFY = "executives.notify", "notify the executive list"
    EXECUTIVES_MANAGE = "executives.manage", "edit the executive list"
    TEAM_HANDOFF_EDIT = "team.handoff.edit", "edit this team's hand-off note template"
    # stakeholder updates (issue 11): staff post them and manage who receives them;
    # administrators edit the update templates
    UPDATE_POST = "update.post", "post stakeholder updates"
    UPDATE_SUBSCRIBE = "update.subscribe", "manage who receives stakeholder updates"
    UPDATE_TEMPLATE_MANAGE = "update.template.manage", "edit the update templates"
    # automation webhooks (issue 11): a service's are managed by the manager of the
    # service's team and administrators; global ones (obj None) by administrators only
    AUTOMATION_MANAGE = "automation.manage", "manage automation webhooks"
    # the public status page (issue 11), staff side: staff see the status-page admin and
    # write what the public reads (public incidents, their updates, component statuses,
    # public maintenances: whoever is on call must be able to post during an outage;
    # nothing is public until someone publishes it); managers and administrators shape
    # the page (components, groups, derive rules); administrators brand it
    STATUS_VIEW = "status.view", "see the status page's administration"
    STATUS_PUBLISH = "status.publish", "write and publish on the status page"
    STATUS_MANAGE = "status.manage", "manage the status page's components"
    STATUS_CONFIGURE = "status.configure", "configure the status page (name, logo, colours)"
    # responders (issue 11): staff ask people to join an incident's response; the person
    # asked answers (obj: the ResponderAsk), or an administrator on their behalf
    RESPONDER_ADD = "responder.add", "add responders to incidents"
    RESPONDER_ANSWER = "responder.answer", "answer this responder request"
    # major incidents (issue 11): staff declare, stand down and tick the checklist
    MAJOR_RESPOND = "major.respond", "declare major incidents and tick their checklist"
    # learning (issue 12). Staff read and write postmortems, action items, problems and
    # runbook runs; managers and administrators accept an action item as a risk and
    # edit runbooks; administrators edit postmortem templates and when one is required.
    POSTMORTEM_VIEW = "postmortem.view", "see postmortems"
    POSTMORTEM_EDIT = "postmortem.edit", "write and review postmortems"
    POSTMORTEM_PUBLISH = "postmortem.publish", "publish postmortems"
    POSTMORTEM_CONFIGURE = "postmortem.configure", "edit postmortem templates and rules"
    ACTION_ITEM_VIEW = "action_item.view", "see action items"
    ACTION_ITEM_EDIT = "action_item.edit", "write and update action items"
    ACTION_ITEM_ACCEPT_RISK = "action_item.accept_risk", "accept an action item as a risk"
    PROBLEM_VIEW = "problem.view", "see problems and known errors"
    PROBLEM_EDIT = "problem.edit", "record and update problems and known errors"
    # obj: an Article (public ones: everyone signed in; internal ones: staff), or None
    # for "every article"
    ARTICLE_VIEW = "article.view", "read knowledge articles"
    ARTICLE_EDIT = "article.edit", "write knowledge articles"
    RUNBOOK_VIEW = "runbook.view", "see runbooks"
    RUNBOOK_RUN = "runbook.run", "run runbooks on incidents"
    RUNBOOK_MANAGE = "runbook.manage", "edit runbooks"
    # reports (issue 13): staff see every metric (they see every incident); managers and
    # administrators also see the on-call load of others (pay, fairness)
    REPORT_VIEW = "report.view", "see metrics and reports"
    REPORT_ONCALL_ALL = "report.oncall_all", "see everyone's on-call load"


# Actions whose answer depends only on the role.
_BY_ROLE: dict[str, frozenset[str]] = {
    Action.DESK_VIEW: STAFF_ROLES,
    Action.INCIDENT_TRIAGE: STAFF_ROLES,
    Action.INCIDENT_ASSIGN: STAFF_ROLES,
    Action.INCIDENT_BE_ASSIGNED: STAFF_ROLES,
    Action.INCIDENT_ACKNOWLEDGE: STAFF_ROLES,
    Action.INCIDENT_UNACKNOWLEDGE: STAFF_ROLES,
    Action.INCIDENT_START: STAFF_ROLES,
    Action.INCIDENT_HOLD: STAFF_ROLES,
    Action.INCIDENT_RESUME: STAFF_ROLES,
    Action.INCIDENT_RESOLVE: STAFF_ROLES,
    Action.INCIDENT_ESCALATE: STAFF_ROLES,
    Action.INCIDENT_CLOSE: CLOSE_ROLES,
    Action.INCIDENT_MERGE: CLOSE_ROLES,
    Action.INCIDENT_REDACT: ADMIN_ROLES,
    Action.INCIDENT_MITIGATE: STAFF_ROLES,
    Action.TIMELINE_INTERNAL_VIEW: STAFF_ROLES,
    Action.TIMELINE_INTERNAL_ADD: STAFF_ROLES,
    Action.ALERTS_VIEW: STAFF_ROLES,
    Action.WINDOW_MANAGE: STAFF_ROLES,
    Action.SILENCE_MANAGE: STAFF_ROLES,
    Action.ALERT_ACT: STAFF_ROLES,
    Action.INTEGRATION_MANAGE: INTEGRATION_ROLES,
    Action.SERVICE_EDIT: ADMIN_ROLES,
    Action.PEOPLE_MANAGE: ADMIN_ROLES,
    Action.TEAM_VIEW: STAFF_ROLES,
    Action.TEAM_MANAGE: ADMIN_ROLES,
    Action.CONFIG_MANAGE: ADMIN_ROLES,
    Action.AUDIT_VIEW: ADMIN_ROLES,
    Action.SCHEDULE_VIEW: STAFF_ROLES,
    Action.SCHEDULE_CREATE: INTEGRATION_ROLES,
    Action.ONCALL_HOURS_ALL: INTEGRATION_ROLES,
    Action.MANAGEMENT_NOTIFY: STAFF_ROLES,
    Action.EXECUTIVES_NOTIFY: INTEGRATION_ROLES,
    Action.EXECUTIVES_MANAGE: ADMIN_ROLES,
    Action.POLICY_VIEW: STAFF_ROLES,
    Action.POLICY_CREATE: INTEGRATION_ROLES,
    Action.SERVICE_PAGING: INTEGRATION_ROLES,
    Action.PAGE_SEND: STAFF_ROLES,
    Action.DELIVERY_LOG_VIEW: ADMIN_ROLES,
    Action.UPDATE_POST: STAFF_ROLES,
    Action.UPDATE_SUBSCRIBE: STAFF_ROLES,
    Action.UPDATE_TEMPLATE_MANAGE: ADMIN_ROLES,
    Action.STATUS_VIEW: STAFF_ROLES,
    Action.STATUS_PUBLISH: STAFF_ROLES,
    Action.STATUS_MANAGE: INTEGRATION_ROLES,
    Action.STATUS_CONFIGURE: ADMIN_ROLES,
    Action.RESPONDER_ADD: STAFF_ROLES,
    Action.MAJOR_RESPOND: STAFF_ROLES,
    Action.POSTMORTEM_VIEW: STAFF_ROLES,
    Action.POSTMORTEM_EDIT: STAFF_ROLES,
    Action.POSTMORTEM_PUBLISH: STAFF_ROLES,
    Action.POSTMORTEM_CONFIGURE: ADMIN_ROLES,
    Action.ACTION_ITEM_VIEW: STAFF_ROLES,
    Action.ACTION_ITEM_EDIT: STAFF_ROLES,
    Action.ACTION_ITEM_ACCEPT_RISK: INTEGRATION_ROLES,
    Action.PROBLEM_VIEW: STAFF_ROLES,
    Action.PROBLEM_EDIT: STAFF_ROLES,
    Action.ARTICLE_EDIT: STAFF_ROLES,
    Action.RUNBOOK_VIEW: STAFF_ROLES,
    Action.RUNBOOK_RUN: STAFF_ROLES,
    Action.RUNBOOK_MANAGE: INTEGRATION_ROLES,
    Action.REPORT_VIEW: STAFF_ROLES,
    Action.REPORT_ONCALL_ALL: INTEGRATION_ROLES,
}

# Actions where staff may, and so may the reporter of the incident in `obj`.
_STAFF_OR_REPORTER = frozenset(
    {Action.INCIDENT_VIEW, Action.INCIDENT_REOPEN, Action.INCIDENT_COMMENT}
)

# Actions the manager of the owning team may take (administrators always may).
_TEAM_OWNED = frozenset(
    {
        Action.SCHEDULE_EDIT,
        Action.POLICY_EDIT,
        Action.TEAM_HANDOFF_EDIT,
        Action.AUTOMATION_MANAGE,
    }
)


def _active(user: Any) -> bool:
    return bool(
        user is not None
        and getattr(user, "is_authenticated", False)
        and getattr(user, "is_active", False)
    )


def _is_reporter_of(user: Any, obj: Any) -> bool:
    reporter_id = getattr(obj, "reporter_id", None)
    return reporter_id is not None and reporter_id == user.pk


def _owning_team_manager_id(obj: Any) -> int | None:
    if isinstance(obj, Team):
        return obj.manager_id
    team_id = getattr(obj, "team_id", None)
    if team_id is None:
        return None
    team = getattr(obj, "team", None)
    if isinstance(team, Team):
        return team.manager_id
    return Team.objects.filter(pk=team_id).values_list("manager_id", flat=True).first()


def can(user: Any, action: str, obj: Any = None) -> bool:
    """May this person take `action` (on `obj`, or on every object of its kind)?"""
    if not _active(user):
        return False
    role = user.role
    if action in _BY_ROLE:
        return role in _BY_ROLE[action]
    if action in _STAFF_OR_REPORTER:
        return role in STAFF_ROLES or (obj is not None and _is_reporter_of(user, obj))
    if action == Action.INCIDENT_CONFIRM:
        return obj is not None and _is_reporter_of(user, obj)
    if action == Action.INCIDENT_CREATE:
        return True
    if action == Action.ARTICLE_VIEW:
        # staff read every article; anyone signed in reads a public one
        return role in STAFF_ROLES or (
            obj is not None and getattr(obj, "visibility", None) == "public"
        )
    if action == Action.CONTACT_MANAGE:
        return role in ADMIN_ROLES or (
            role in STAFF_ROLES and isinstance(obj, User) and obj.pk == user.pk
        )
    if action == Action.RESPONDER_ANSWER:
        return role in ADMIN_ROLES or (
            role in STAFF_ROLES and obj is not None and getattr(obj, "person_id", None) == user.pk
        )
    if action == Action.PEOPLE_VIEW:
        return role in STAFF_ROLES or (isinstance(obj, User) and obj.pk == user.pk)
    if action in _TEAM_OWNED:
        if role in ADMIN_ROLES:
            return True
        if obj is None or role not in STAFF_ROLES:
            return False
        return _owning_team_manager_id(obj) == user.pk
    if action in (Action.SCHEDULE_OVERRIDE, Action.SCHEDULE_COVER):
        if role in ADMIN_ROLES:
            return True
        if obj is None or role not in STAFF_ROLES:
            return False
        if _owning_team_manager_id(obj) == user.pk or _participant(obj, user):
            return True
        return action == Action.SCHEDULE_COVER and _team_member(obj, user)
    raise ValueError(f"unknown action {action!r}")


def _participant(obj: Any, user: Any) -> bool:
    """Is the person in the object's rotation (a schedule's ``has_participant``)?"""
    has = getattr(obj, "has_participant", None)
    return bool(has is not None and has(user.pk))


def _team_member(obj: Any, user: Any) -> bool:
    team_id = getattr(obj, "team_id", None)
    if team_id is None:
        return False
    return Team.members.through.objects.filter(team_id=team_id, user_id=user.pk).exists()


def people_who_may(action: str) -> QuerySet[User]:
    """The active people who may take an action that depends on the role alone (for
    choices such as who may be assigned)."""
    return User.objects.filter(is_active=True, role__in=_BY_ROLE[action])


def require(user: Any, action: str, obj: Any = None, *, what: str | None = None) -> None:
    """Raise Forbidden (403) unless `can(user, action, obj)`."""
    if not can(user, action, obj):
        raise Forbidden(f"your role may not {what or Action(action).label}")


def require_for(actor: Any, action: str, obj: Any = None, *, what: str | None = None) -> None:
    """As `require`, for a service's actor: the system and integrations always may."""
    if actor.kind in ("system", "integration"):
        return
    require(actor.user, action, obj, what=what)
