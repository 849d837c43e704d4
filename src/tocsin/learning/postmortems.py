"""Postmortems (issue 12, point 1): every write, one function per use case, one
transaction each, with a POSTMORTEM entry on the incident's timeline.

- When an incident is resolved and the rules require a postmortem for its priority
  (`PostmortemSettings.required_priorities`, or its service's `ServicePostmortemRule`),
  `draft_on_resolved` (an `incidents.hooks.on_resolved` hook, inside the resolve's
  transaction) drafts one from the default template: owner the incident commander (the
  holder of the commander role), else the assignee, else nobody; due `due_days` later.
- Staff draft one by hand (`postmortem_create`), for any incident they see.
- States: draft → in review → published, and back from review to draft
  (`postmortem_transition`; 409 naming the allowed moves otherwise). Publishing sets
  `completed_at` too when every action item is done or accepted as a risk
  (`postmortem_check_complete`, which the action-item services call again later).
- Reviewers comment (`postmortem_comment_add`); administrators edit templates and the
  rules.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError, transaction

from tocsin.accounts.models import User
from tocsin.accounts.permissions import Action, can, require_for
from tocsin.catalog.models import Service
from tocsin.core.actors import Actor
from tocsin.core.audit import audit_record
from tocsin.core.clock import now
from tocsin.core.errors import Conflict, Invalid
from tocsin.incidents import hooks as incident_hooks
from tocsin.incidents.models import EntryKind, Incident, IncidentRole, Priority, RoleAssignment
from tocsin.incidents.timeline import timeline_append
from tocsin.learning.models import (
    Postmortem,
    PostmortemComment,
    PostmortemSettings,
    PostmortemStatus,
    PostmortemTemplate,
    ServicePostmortemRule,
)
from tocsin.learning.models.actions import SETTLED_STATUSES
from tocsin.learning.postmortem_draft import (
    DEFAULT_TEMPLATE,
    DEFAULT_TEMPLATE_NAME,
    draft_markdown,
    template_check,
)

TITLE_MAX = 200
MARKDOWN_MAX = 100_000
COMMENT_MAX = 5000
NAME_MAX = 100
DUE_DAYS_MAX = 90

# what may follow each state
TRANSITIONS: dict[str, tuple[str, ...]] = {
    PostmortemStatus.DRAFT: (PostmortemStatus.IN_REVIEW,),
    PostmortemStatus.IN_REVIEW: (PostmortemStatus.DRAFT, PostmortemStatus.PUBLISHED),
    PostmortemStatus.PUBLISHED: (),
}
_MOVES = {
    PostmortemStatus.IN_REVIEW: "sent for review",
    PostmortemStatus.DRAFT: "sent back to draft",
    PostmortemStatus.PUBLISHED: "published",
}
FINISHED_ITEMS = SETTLED_STATUSES  # done, or accepted as a risk
_UNSET: Any = object()


def register() -> None:
    """Draft a required postmortem on resolve (called from learning/wiring.py)."""
    from tocsin.learning import postmortem_views

    incident_hooks.register(incident_hooks.on_resolved, draft_on_resolved)
    incident_hooks.register(
        incident_hooks.incident_page_sections, postmortem_views.postmortem_section
    )


# --- settings and rules -------------------------------------------------------------------------


def postmortem_settings() -> PostmortemSettings:
    found, _ = PostmortemSettings.objects.get_or_create(pk=1)
    return found


def required_priorities_for(service: Service | None) -> list[int]:
    if service is not None:
        rule = ServicePostmortemRule.objects.filter(service=service).first()
        if rule is not None:
            return list(rule.required_priorities)
    return list(postmortem_settings().required_priorities)


def postmortem_required(incident: Incident) -> bool:
    """Do the rules require a postmortem for this incident (its priority, its service)?"""
    return incident.priority in required_priorities_for(incident.service)


def _priorities(field: str, values: Sequence[Any]) -> list[int]:
    out = []
    for value in values:
        if isinstance(value, bool) or value not in Priority.values:
            raise Invalid(field, "Each priority must be 1, 2, 3 or 4.")
        out.append(int(value))
    return sorted(set(out))


@transaction.atomic
def postmortem_settings_set(
    *,
    actor: Actor,
    required_priorities: Sequence[int],
    due_days: int,
    default_template: PostmortemTemplate | None,
) -> PostmortemSettings:
    require_for(actor, Action.POSTMORTEM_CONFIGURE)
    priorities = _priorities("required_priorities", required_priorities)
    if isinstance(due_days, bool) or not 1 <= due_days <= DUE_DAYS_MAX:
        raise Invalid("due_days", f"Between 1 and {DUE_DAYS_MAX} days.")
    if default_template is not None and default_template.archived_at is not None:
        raise Invalid("default_template", "This template is archived.")
    row = PostmortemSettings.objects.select_for_update().get_or_create(pk=1)[0]
    before = {
        "required_priorities": row.required_priorities,
        "due_days": row.due_days,
        "default_template": row.default_template_id,
    }
    row.required_priorities = priorities
    row.due_days = due_days
    row.default_template = default_template
    row.updated_at = now()
    row.updated_by = actor.user
    row.save()
    audit_record(
        actor=actor,
        action="postmortem_settings.edit",
        obj=row,
        before=before,
        after={
            "required_priorities": priorities,
            "due_days": due_days,
            "default_template": row.default_template_id,
        },
    )
    return row


@transaction.atomic
def service_rule_set(
    *, actor: Actor, service: Service, required_priorities: Sequence[int]
) -> ServicePostmortemRule:
    """This service's incidents need a postmortem for these priorities (instead of the
    settings'); an empty list means never."""
    require_for(actor, Action.POSTMORTEM_CONFIGURE)
    priorities = _priorities("required_priorities", required_priorities)
    rule, _ = ServicePostmortemRule.objects.update_or_create(
        service=service, defaults={"required_priorities": priorities}
    )
    audit_record(
        actor=actor,
        action="postmortem_rule.set",
        obj=service,
        after={"required_priorities": priorities},
    )
    return rule


@transaction.atomic
def service_rule_remove(*, actor: Actor, service: Service) -> None:
    """The service follows the settings again."""
    require_for(actor, Action.POSTMORTEM_CONFIGURE)
    deleted, _ = ServicePostmortemRule.objects.filter(service=service).delete()
    if deleted:
        audit_record(actor=actor, action="postmortem_rule.remove", obj=service)


# --- templates ----------------------------------------------------------------------------------


def _template_fields(name: str, body: str) -> tuple[str, str]:
    name = " ".join((name or "").split())
    if not name:
        raise Invalid("name", "Give the template a name.")
    if len(name) > NAME_MAX:
        raise Invalid("name", f"At most {NAME_MAX} characters.")
    return name, template_check(body)


@transaction.atomic
def template_create(*, actor: Actor, name: str, body: str) -> PostmortemTemplate:
    require_for(actor, Action.POSTMORTEM_CONFIGURE)
    name, body = _template_fields(name, body)
    if PostmortemTemplate.objects.filter(name__iexact=name).exists():
        raise Invalid("name", "Another template has this name.")
    template = PostmortemTemplate.objects.create(
        name=name, body=body, created_at=now(), updated_at=now()
    )
    audit_record(
        actor=actor, action="postmortem_template.create", obj=template, after={"name": name}
    )
    return template


@transaction.atomic
def template_edit(
    *,
    actor: Actor,
    template: PostmortemTemplate,
    name: str | None = None,
    body: str | None = None,
    archived: bool | None = None,
) -> PostmortemTemplate:
    require_for(actor, Action.POSTMORTEM_CONFIGURE)
    new_name, new_body = _template_fields(
        template.name if name is None else name, template.body if body is None else body
    )
    if PostmortemTemplate.objects.filter(name__iexact=new_name).exclude(pk=template.pk).exists():
        raise Invalid("name", "Another template has this name.")
    if archived and postmortem_settings().default_template_id == template.pk:
        raise Invalid("archived", "This is the default template; choose another default first.")
    before = {"name": template.name, "body": template.body}
    template.name, template.body = new_name, new_body
    if archived is not None:
        template.archived_at = (template.archived_at or now()) if archived else None
    template.updated_at = now()
    template.save()
    audit_record(
        actor=actor,
        action="postmortem_template.edit",
        obj=template,
        before=before,
        after={"name": new_name, "body": new_body, "archived": template.archived_at is not None},
    )
    return template


def default_template() -> PostmortemTemplate | None:
    chosen = postmortem_settings().default_template
    if chosen is not None and chosen.archived_at is None:
        return chosen
    return (
        PostmortemTemplate.objects.filter(archived_at__isnull=True, name=DEFAULT_TEMPLATE_NAME)
        .order_by("pk")
        .first()
        or PostmortemTemplate.objects.filter(archived_at__isnull=True).order_by("pk").first()
    )


# --- drafting -----------------------------------------------------------------------------------


def owner_for(incident: Incident) -> User | None:
    """The incident commander (the current holder, else the last one), else the
    assignee, else nobody; only people who may write postmortems."""
    commanders = RoleAssignment.objects.filter(
        incident=incident, role__key=IncidentRole.COMMANDER
    ).select_related("user")
    held = (
        commanders.filter(ended_at__isnull=True).first()
        or commanders.order_by("-assigned_at", "-pk").first()
    )
    for person in (held.user if held else None, incident.assignee):
        if person is not None and can(person, Action.POSTMORTEM_EDIT):
            return person
    return None


def _due(at: dt.datetime) -> dt.datetime:
    return at + dt.timedelta(days=postmortem_settings().due_days)


def _title(incident: Incident) -> str:
    return f"{incident.ref}: {incident.title}"[:TITLE_MAX]


def _draft(
    *,
    incident: Incident,
    actor: Actor,
    template: PostmortemTemplate | None,
    required: bool,
    created_by: User | None,
) -> Postmortem:
    at = now()
    template = template or default_template()
    owner = owner_for(incident)
    try:
        with transaction.atomic():
            postmortem = Postmortem.objects.create(
                incident=incident,
                title=_title(incident),
                owner=owner,
                due_at=_due(incident.resolved_at or at),
                markdown=draft_markdown(incident, template.body if template else DEFAULT_TEMPLATE),
                template=template,
                required=required,
                created_by=created_by,
                created_at=at,
                updated_at=at,
            )
    except IntegrityError:
        raise Conflict(f"{incident.ref} already has a postmortem.") from None
    why = f"required for {incident.priority_label}" if required else "started by hand"
    who = f"owner {owner.display_name}" if owner else "no owner yet"
    timeline_append(
        incident=incident,
        kind=EntryKind.POSTMORTEM,
        actor=actor,
        text=f"Postmortem drafted ({why}); {who}, due {postmortem.due_at:%Y-%m-%d}.",
        data={"postmortem": postmortem.pk, "status": postmortem.status, "required": required},
    )
    return postmortem


def draft_on_resolved(*, incident: Incident, actor: Actor) -> Postmortem | None:
    """The `on_resolved` hook: draft the postmortem the rules require (once; a reopened
    and resolved-again incident keeps the one it has)."""
    if Postmortem.objects.filter(incident=incident).exists() or not postmortem_required(incident):
        return None
    return _draft(
        incident=incident,
        actor=Actor.system("postmortems"),
        template=None,
        required=True,
        created_by=None,
    )


@transaction.atomic
def postmortem_create(
    *, incident: Incident, actor: Actor, template: PostmortemTemplate | None = None
) -> Postmortem:
    """A postmortem drafted by hand; 409 when the incident already has one."""
    require_for(actor, Action.POSTMORTEM_EDIT)
    if template is not None and template.archived_at is not None:
        raise Invalid("template", "This template is archived.")
    if Postmortem.objects.filter(incident=incident).exists():
        raise Conflict(f"{incident.ref} already has a postmortem.")
    return _draft(
        incident=incident,
        actor=actor,
        template=template,
        required=postmortem_required(incident),
        created_by=actor.user,
    )


# --- editing and states ---------------------------------------------------------------------------


def _lock(postmortem: Postmortem) -> Postmortem:
    return Postmortem.objects.select_for_update().select_related("incident").get(pk=postmortem.pk)


def _writable(postmortem: Postmortem) -> None:
    if postmortem.status == PostmortemStatus.PUBLISHED:
        raise Conflict("This postmortem is published; it can no longer be changed.")


@transaction.atomic
def postmortem_edit(
    *,
    postmortem: Postmortem,
    actor: Actor,
    title: str | None = None,
    markdown: str | None = None,
    owner: User | None = _UNSET,
    due_at: dt.datetime | None = _UNSET,
) -> Postmortem:
    """Change the title, the document, the owner (None: nobody) or the due date."""
    require_for(actor, Action.POSTMORTEM_EDIT)
    postmortem = _lock(postmortem)
    _writable(postmortem)
    fields: list[str] = []
    if title is not None:
        title = " ".join(title.split())
        if not title:
            raise Invalid("title", "Give the postmortem a title.")
        if len(title) > TITLE_MAX:
            raise Invalid("title", f"At most {TITLE_MAX} characters.")
        postmortem.title = title
        fields.append("title")
    if markdown is not None:
        if len(markdown) > MARKDOWN_MAX:
            raise Invalid("markdown", f"At most {MARKDOWN_MAX} characters.")
        postmortem.markdown = markdown.replace("\r\n", "\n")
        fields.append("markdown")
    changes: list[str] = []
    if owner is not _UNSET and owner != postmortem.owner:
        if owner is not None and (not owner.is_active or not can(owner, Action.POSTMORTEM_EDIT)):
            raise Invalid("owner", "The owner must be an active member of staff.")
        postmortem.owner = owner
        fields.append("owner")
        changes.append(f"owner {owner.display_name}" if owner else "no owner")
    if due_at is not _UNSET and due_at != postmortem.due_at:
        if due_at is not None and due_at.tzinfo is None:
            raise Invalid("due_at", "Give a time zone (e.g. 2026-12-11T17:00:00Z).")
        postmortem.due_at = due_at
        fields.append("due_at")
        changes.append(f"due {due_at:%Y-%m-%d}" if due_at else "no due date")
    if not fields:
        return postmortem
    postmortem.updated_at = now()
    postmortem.save(update_fields=[*fields, "updated_at"])
    if changes:
        timeline_append(
            incident=postmortem.incident,
            kind=EntryKind.POSTMORTEM,
            actor=actor,
            text=f"Postmortem: {', '.join(changes)}.",
            data={"postmortem": postmortem.pk, "status": postmortem.status},
        )
    return postmortem


def allowed_moves(postmortem: Postmortem) -> tuple[str, ...]:
    return TRANSITIONS[postmortem.status]


@transaction.atomic
def postmortem_transition(*, postmortem: Postmortem, actor: Actor, to: str) -> Postmortem:
    """Move to `to` if the state machine allows it (409 naming what is allowed)."""
    if to not in PostmortemStatus.values:
        raise Invalid("status", f"One of {', '.join(PostmortemStatus.values)}.")
    action = (
        Action.POSTMORTEM_PUBLISH if to == PostmortemStatus.PUBLISHED else Action.POSTMORTEM_EDIT
    )
    require_for(actor, action)
    postmortem = _lock(postmortem)
    old = postmortem.status
    allowed = TRANSITIONS[old]
    if to not in allowed:
        names = " or ".join(allowed) if allowed else "nothing (it is published)"
        raise Conflict(f"A postmortem that is {old} cannot become {to}; allowed: {names}.")
    at = now()
    changed = Postmortem.objects.filter(pk=postmortem.pk, status=old).update(
        status=to,
        updated_at=at,
        published_at=at if to == PostmortemStatus.PUBLISHED else None,
    )
    if changed != 1:  # pragma: no cover - the row lock above makes this a safety net
        raise Conflict("The postmortem changed meanwhile; reload and try again.")
    postmortem.refresh_from_db()
    timeline_append(
        incident=postmortem.incident,
        kind=EntryKind.POSTMORTEM,
        actor=actor,
        text=f"Postmortem {_MOVES[PostmortemStatus(to)]}.",
        data={"postmortem": postmortem.pk, "from": old, "status": to},
    )
    if to == PostmortemStatus.PUBLISHED:
        postmortem_check_complete(postmortem=postmortem, actor=actor)
    return postmortem


def postmortem_check_complete(*, postmortem: Postmortem, actor: Actor) -> bool:
    """Set `completed_at` when the postmortem is published and every action item is done
    or accepted as a risk (call inside the transaction that changed either). Answers
    whether it is complete."""
    if postmortem.status != PostmortemStatus.PUBLISHED:
        return False
    if postmortem.action_items.exclude(status__in=FINISHED_ITEMS).exists():
        if postmortem.completed_at is not None:
            Postmortem.objects.filter(pk=postmortem.pk).update(completed_at=None)
            postmortem.completed_at = None
        return False
    if postmortem.completed_at is None:
        postmortem.completed_at = now()
        Postmortem.objects.filter(pk=postmortem.pk).update(completed_at=postmortem.completed_at)
        timeline_append(
            incident=postmortem.incident,
            kind=EntryKind.POSTMORTEM,
            actor=actor,
            text="Postmortem complete: published, and every action item is done or accepted "
            "as a risk.",
            data={"postmortem": postmortem.pk, "status": postmortem.status, "complete": True},
        )
    return True


@transaction.atomic
def postmortem_comment_add(*, postmortem: Postmortem, actor: Actor, body: str) -> PostmortemComment:
    require_for(actor, Action.POSTMORTEM_EDIT)
    body = (body or "").strip()
    if not body:
        raise Invalid("body", "Write the comment.")
    if len(body) > COMMENT_MAX:
        raise Invalid("body", f"At most {COMMENT_MAX} characters.")
    return PostmortemComment.objects.create(
        postmortem=postmortem, author=actor.user, body=body, created_at=now()
    )


@transaction.atomic
def postmortem_update(
    *,
    postmortem: Postmortem,
    actor: Actor,
    status: str | None = None,
    **changes: Any,
) -> Postmortem:
    """The API's PATCH: edits (`postmortem_edit`'s fields) then a move to `status`, in one
    transaction (a refused move undoes the edits)."""
    if changes:
        postmortem = postmortem_edit(postmortem=postmortem, actor=actor, **changes)
    if status is not None and status != postmortem.status:
        postmortem = postmortem_transition(postmortem=postmortem, actor=actor, to=status)
    return postmortem


@transaction.atomic
def postmortem_rules_set(
    *,
    actor: Actor,
    required_priorities: Sequence[int],
    due_days: int,
    default_template: PostmortemTemplate | None,
    services: Sequence[tuple[Service, Sequence[int]]] | None = None,
) -> PostmortemSettings:
    """The settings and (when `services` is given) every per-service override, replaced
    together."""
    row = postmortem_settings_set(
        actor=actor,
        required_priorities=required_priorities,
        due_days=due_days,
        default_template=default_template,
    )
    if services is not None:
        keep = {service.pk for service, _ in services}
        for old in ServicePostmortemRule.objects.exclude(service_id__in=keep).select_related(
            "service"
        ):
            service_rule_remove(actor=actor, service=old.service)
        for service, priorities in services:
            service_rule_set(actor=actor, service=service, required_priorities=priorities)
    return row
