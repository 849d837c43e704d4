"""Runbooks (issue 12, point 6): services (writes), selectors (reads and the access gate),
the incident hooks, and what the notify outbox asks at send time and after a delivery.
Docs: docs/runbooks.md.

- A runbook belongs to a service, a category, both or neither; it holds ordered steps
  (Markdown). Staff read runbooks (Action.RUNBOOK_VIEW), managers and administrators edit
  them (RUNBOOK_MANAGE); anyone else: runbooks do not exist (404).
- A run is a runbook started on an incident (RUNBOOK_RUN, staff): its steps are copied,
  so later edits do not change it. Ticking a step on or off is a timeline entry
  (EntryKind.RUNBOOK). A runbook runs once per incident.
- An automated step (a URL) is POSTed when the run starts: a JSON body from the step's
  template with a few incident variables substituted (`{{ incident.number }}`; plain
  text replacement, no template engine), signed, through the outbox (channel "webhook",
  purpose "runbook", dedup key `runbook:<run step>:<call>`), so it goes out after the
  commit, SSRF-checked and retried. What the endpoint answered (status, a capped
  excerpt) is recorded on the step and on the timeline by `on_outcome`; a 2xx ticks it.
- `run_on_open`: started by itself inside the transaction that creates an incident of
  the runbook's service/category (incidents.hooks.on_created).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Prefetch, Q, QuerySet
from django.urls import reverse

from tocsin.accounts.permissions import Action, can, require_for
from tocsin.catalog.models import Category, Service
from tocsin.core import outbound
from tocsin.core.actors import Actor
from tocsin.core.audit import audit_record, snapshot
from tocsin.core.clock import now
from tocsin.core.errors import Conflict, Invalid, NotFound
from tocsin.core.memo import memo
from tocsin.incidents.models import EntryKind, Incident, Source, Status
from tocsin.incidents.timeline import timeline_append
from tocsin.learning.models import (
    CallState,
    Runbook,
    RunbookRun,
    RunbookRunStep,
    RunbookStep,
)
from tocsin.notify.hooks import Outcome, WebhookTarget
from tocsin.notify.models import OutboxMessage
from tocsin.notify.services import outbox_enqueue

PURPOSE = "runbook"
CHANNEL = "webhook"
NAME_MAX = 200
TITLE_MAX = 200
TEXT_MAX = 20_000
URL_MAX = 500
TEMPLATE_MAX = 10_000
STEPS_MAX = 50
EXCERPT_SHOWN = 300  # characters of a reply on the timeline
RUN_ON_OPEN = Actor.system("runbook · run on open")
_AUDITED = ("name", "service", "category", "run_on_open", "archived_at")

# The variables a body template may use, and what each is.
VARIABLES: dict[str, str] = {
    "incident.id": "the incident's number (42)",
    "incident.number": "its reference (INC-42)",
    "incident.title": "its title",
    "incident.priority": "its priority (P1 … P4)",
    "incident.status": "its status (new, acknowledged, …)",
    "incident.service": "its service's name (empty when none)",
    "incident.category": "its category's name (empty when none)",
    "incident.url": "its page in Tocsin",
    "runbook.name": "the runbook's name",
    "run.id": "the run's id",
    "step.position": "the step's number in the runbook",
    "step.title": "the step's title",
}
_PLACEHOLDER = re.compile(r"\{\{([^{}]*)\}\}")
_OPEN = "{{"
_SIGNING_INFO = b"tocsin:runbook-signing:v1"


# --- validation -----------------------------------------------------------------------------


@dataclass(frozen=True)
class StepSpec:
    title: str
    body: str = ""
    url: str = ""
    body_template: str = ""


def _text(field: str, value: str | None, limit: int, *, required: str = "") -> str:
    value = (value or "").strip()
    if required and not value:
        raise Invalid(field, required)
    if len(value) > limit:
        raise Invalid(field, f"at most {limit} characters")
    if "\x00" in value:
        raise Invalid(field, "must not contain NUL characters")
    return value


def url_check(url: str | None, field: str = "url") -> str:
    """The URL as stored ("" for a manual step): http(s), no user info or fragment, an
    address the SSRF rules allow (the same checks run again at every send)."""
    url = (url or "").strip()
    if not url:
        return ""
    if len(url) > URL_MAX:
        raise Invalid(field, f"at most {URL_MAX} characters")
    try:
        parts = urlsplit(url)
    except ValueError:
        raise Invalid(field, "is not a URL") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise Invalid(field, "must be an http:// or https:// URL")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise Invalid(field, "must not carry a user name or password; the signature is the auth")
    if parts.fragment:
        raise Invalid(field, "must not have a #fragment")
    try:
        outbound.check_url(url)
    except outbound.OutboundRefused as exc:
        raise Invalid(field, f"refused: {exc.reason}") from None
    except outbound.OutboundError:
        pass  # a name that does not resolve right now: checked again at every send
    return url


def _placeholders(text: str) -> list[str]:
    return [m.strip() for m in _PLACEHOLDER.findall(text)]


def _check_strings(value: Any, field: str) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if _OPEN in key:
                raise Invalid(field, "variables go in values, not in keys")
            _check_strings(item, field)
    elif isinstance(value, list):
        for item in value:
            _check_strings(item, field)
    elif isinstance(value, str):
        for name in _placeholders(value):
            if name not in VARIABLES:
                raise Invalid(
                    field,
                    f"unknown variable {{{{ {name[:40]} }}}}; use one of: " + ", ".join(VARIABLES),
                )
        rest = _PLACEHOLDER.sub("", value)
        if _OPEN in rest:
            raise Invalid(field, "a {{ is not closed with }}")


def template_check(template: str | None, field: str = "body_template") -> str:
    """The body template as stored ("" for the default body): a JSON object whose string
    values may hold `{{ variable }}` from VARIABLES."""
    template = _text(field, template, TEMPLATE_MAX)
    if not template:
        return ""
    try:
        parsed = json.loads(template)
    except ValueError as exc:
        raise Invalid(field, f"is not JSON: {str(exc)[:120]}") from None
    if not isinstance(parsed, dict):
        raise Invalid(field, "must be a JSON object ({ … })")
    _check_strings(parsed, field)
    return template


def steps_check(steps: list[StepSpec] | None) -> list[StepSpec]:
    steps = list(steps or [])
    if len(steps) > STEPS_MAX:
        raise Invalid("steps", f"at most {STEPS_MAX} steps")
    checked = []
    for i, step in enumerate(steps, start=1):
        where = f"steps.{i}"
        url = url_check(step.url, f"{where}.url")
        template = template_check(step.body_template, f"{where}.body_template")
        if template and not url:
            raise Invalid(f"{where}.url", "a body template needs a URL to send it to")
        checked.append(
            StepSpec(
                title=_text(
                    f"{where}.title", step.title, TITLE_MAX, required="give the step a title"
                ),
                body=_text(f"{where}.body", step.body, TEXT_MAX),
                url=url,
                body_template=template,
            )
        )
    return checked


def _scope_check(service: Service | None, category: Category | None, run_on_open: bool) -> None:
    if run_on_open and service is None and category is None:
        raise Invalid("run_on_open", "give a service or a category: it would run on every incident")


# --- selectors: the gate -----------------------------------------------------------------


def may_view(user: Any) -> bool:
    return can(user, Action.RUNBOOK_VIEW)


def may_manage(user: Any) -> bool:
    return can(user, Action.RUNBOOK_MANAGE)


def may_run(user: Any, incident: Incident | None = None) -> bool:
    return can(user, Action.RUNBOOK_RUN) and (
        incident is None or can(user, Action.INCIDENT_VIEW, incident)
    )


def _base() -> QuerySet[Runbook]:
    return Runbook.objects.select_related("service", "category").annotate(step_count=Count("steps"))


def runbook_list_for(
    user: Any,
    *,
    service: int | None = None,
    category: int | None = None,
    archived: bool = False,
) -> QuerySet[Runbook]:
    if not may_view(user):
        raise NotFound("not found")
    qs = _base().filter(archived_at__isnull=not archived)
    if service is not None:
        qs = qs.filter(service_id=service)
    if category is not None:
        qs = qs.filter(category_id=category)
    return qs.order_by("name", "pk")


def runbook_get(runbook_id: int, *, user: Any) -> Runbook:
    """A runbook this person may read, with its steps; NotFound otherwise."""
    runbook = _base().prefetch_related("steps").filter(pk=runbook_id).first()
    if runbook is None or not may_view(user):
        raise NotFound(f"no runbook with id {runbook_id}")
    return runbook


def service_for_field(service_id: int | None) -> Service | None:
    if service_id is None:
        return None
    service = Service.objects.filter(pk=service_id).first()
    if service is None:
        raise Invalid("service", f"no service with id {service_id}")
    return service


def category_for_field(category_id: int | None) -> Category | None:
    if category_id is None:
        return None
    category = Category.objects.filter(pk=category_id, parent__isnull=True).first()
    if category is None:
        raise Invalid(
            "category", f"no top-level category with id {category_id} (not a subcategory)"
        )
    return category


def _matching(incident: Incident) -> Q:
    """Runbooks whose scope fits the incident: each scope they set matches."""
    return (Q(service__isnull=True) | Q(service_id=incident.service_id)) & (
        Q(category__isnull=True) | Q(category_id=incident.category_id)
    )


def runbooks_to_start(incident: Incident) -> list[Runbook]:
    """The active runbooks one may start on the incident, those made for its service or
    category first, without the ones already run on it."""
    started = RunbookRun.objects.filter(incident=incident).values("runbook_id")
    rows = list(
        Runbook.objects.filter(archived_at__isnull=True)
        .exclude(pk__in=started)
        .select_related("service", "category")
        .order_by("name", "pk")
    )
    fits = set(Runbook.objects.filter(_matching(incident)).values_list("pk", flat=True))

    def rank(r: Runbook) -> int:
        specific = r.service_id is not None or r.category_id is not None
        return 0 if (r.pk in fits and specific) else 1 if r.pk in fits else 2

    return sorted(rows, key=rank)


def runs_of(incident: Incident) -> list[RunbookRun]:
    return list(
        RunbookRun.objects.filter(incident=incident)
        .select_related("started_by", "runbook")
        .prefetch_related(
            Prefetch(
                "steps",
                queryset=RunbookRunStep.objects.select_related("done_by").order_by("position"),
            )
        )
        .order_by("started_at", "pk")
    )


def run_get(run_id: int, *, user: Any) -> RunbookRun:
    """A run this person may see and work on (staff who may see its incident)."""
    run = RunbookRun.objects.select_related("incident").filter(pk=run_id).first()
    if run is None or not may_view(user) or not can(user, Action.INCIDENT_VIEW, run.incident):
        raise NotFound(f"no runbook run with id {run_id}")
    return run


def progress(run: RunbookRun) -> tuple[int, int]:
    steps = list(run.steps.all())
    return sum(1 for s in steps if s.done_at is not None), len(steps)


# --- services: runbooks ------------------------------------------------------------------


def _audit_state(runbook: Runbook) -> dict[str, Any]:
    state = snapshot(runbook, _AUDITED)
    state["steps"] = [s.title for s in runbook.steps.order_by("position")]
    return state


def _write_steps(runbook: Runbook, steps: list[StepSpec]) -> None:
    RunbookStep.objects.filter(runbook=runbook).delete()
    RunbookStep.objects.bulk_create(
        RunbookStep(
            runbook=runbook,
            position=i,
            title=s.title,
            body=s.body,
            url=s.url,
            body_template=s.body_template,
        )
        for i, s in enumerate(steps, start=1)
    )


@transaction.atomic
def runbook_create(
    *,
    actor: Actor,
    name: str,
    description: str = "",
    service: Service | None = None,
    category: Category | None = None,
    run_on_open: bool = False,
    steps: list[StepSpec] | None = None,
) -> Runbook:
    require_for(actor, Action.RUNBOOK_MANAGE, what="edit runbooks")
    _scope_check(service, category, run_on_open)
    checked = steps_check(steps)
    at = now()
    runbook = Runbook.objects.create(
        name=_text("name", name, NAME_MAX, required="give the runbook a name"),
        description=_text("description", description, TEXT_MAX),
        service=service,
        category=category,
        run_on_open=run_on_open,
        created_at=at,
        updated_at=at,
    )
    _write_steps(runbook, checked)
    audit_record(actor=actor, action="runbook.create", obj=runbook, after=_audit_state(runbook))
    return runbook


@transaction.atomic
def runbook_update(*, runbook: Runbook, actor: Actor, changes: dict[str, Any]) -> Runbook:
    """Change the keys given: name, description, service, category, run_on_open, steps
    (the whole ordered list; runs already started keep their copy)."""
    require_for(actor, Action.RUNBOOK_MANAGE, what="edit runbooks")
    locked = Runbook.objects.select_for_update().get(pk=runbook.pk)
    before = _audit_state(locked)
    fields: list[str] = []
    if "name" in changes:
        locked.name = _text("name", changes["name"], NAME_MAX, required="give the runbook a name")
        fields.append("name")
    if "description" in changes:
        locked.description = _text("description", changes["description"], TEXT_MAX)
        fields.append("description")
    if "service" in changes:
        locked.service = changes["service"]
        fields.append("service")
    if "category" in changes:
        locked.category = changes["category"]
        fields.append("category")
    if "run_on_open" in changes:
        locked.run_on_open = bool(changes["run_on_open"])
        fields.append("run_on_open")
    _scope_check(locked.service, locked.category, locked.run_on_open)
    if "steps" in changes:
        _write_steps(locked, steps_check(changes["steps"]))
    if fields or "steps" in changes:
        locked.updated_at = now()
        locked.save(update_fields=[*fields, "updated_at"])
        audit_record(
            actor=actor,
            action="runbook.update",
            obj=locked,
            before=before,
            after=_audit_state(locked),
        )
    return locked


@transaction.atomic
def runbook_archive(*, runbook: Runbook, actor: Actor, archived: bool = True) -> Runbook:
    """Archive (no longer offered, never run on open; runs keep it) or bring it back."""
    require_for(actor, Action.RUNBOOK_MANAGE, what="edit runbooks")
    locked = Runbook.objects.select_for_update().get(pk=runbook.pk)
    if (locked.archived_at is not None) == archived:
        return locked
    before = _audit_state(locked)
    at = now()
    locked.archived_at = at if archived else None
    locked.updated_at = at
    locked.save(update_fields=["archived_at", "updated_at"])
    audit_record(
        actor=actor,
        action="runbook.archive" if archived else "runbook.restore",
        obj=locked,
        before=before,
        after=_audit_state(locked),
    )
    return locked


# --- services: runs --------------------------------------------------------------------------


def _who(actor: Actor) -> str:
    user = actor.user
    if user is not None:
        return str(user.display_name)
    return actor.label or str(actor.kind)


def _count(n: int, what: str) -> str:
    return f"{n} {what}" + ("" if n == 1 else "s")


def _lock_open(incident: Incident) -> Incident:
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    if incident.status == Status.CLOSED:
        raise Conflict(f"{incident.ref} is closed; reopen it to work on its runbooks")
    return incident


@transaction.atomic
def run_start(
    *, incident: Incident, runbook: Runbook, actor: Actor, automatic: bool = False
) -> RunbookRun:
    """Start `runbook` on the incident: copy its steps, put it on the timeline, queue its
    automated steps (sent by the worker after the commit)."""
    require_for(actor, Action.RUNBOOK_RUN, incident, what="run runbooks")
    incident = _lock_open(incident)
    runbook = Runbook.objects.get(pk=runbook.pk)
    if runbook.archived_at is not None:
        raise Conflict(f"the runbook {runbook.name!r} is archived")
    if RunbookRun.objects.filter(incident=incident, runbook=runbook).exists():
        raise Conflict(f"the runbook {runbook.name!r} already runs on {incident.ref}")
    at = now()
    try:
        with transaction.atomic():
            run = RunbookRun.objects.create(
                incident=incident,
                runbook=runbook,
                name=runbook.name,
                started_at=at,
                started_by=actor.user,
                started_by_label=_who(actor),
                automatic=automatic,
            )
    except IntegrityError:
        raise Conflict(f"the runbook {runbook.name!r} already runs on {incident.ref}") from None
    steps = [
        RunbookRunStep(
            run=run,
            position=s.position,
            title=s.title,
            body=s.body,
            url=s.url,
            body_template=s.body_template,
            call_state=CallState.QUEUED if s.url else CallState.NONE,
        )
        for s in runbook.steps.order_by("position")
    ]
    RunbookRunStep.objects.bulk_create(steps)
    automated = sum(1 for s in steps if s.url)
    how = " by itself (run on open)" if automatic else ""
    calls = f"; {_count(automated, 'automated step')} called" if automated else ""
    timeline_append(
        incident=incident,
        kind=EntryKind.RUNBOOK,
        actor=actor,
        text=f"Runbook started{how}: {run.name} ({_count(len(steps), 'step')}{calls}).",
        data={"run": run.pk, "runbook": runbook.pk, "event": "started"},
    )
    for step in RunbookRunStep.objects.filter(run=run).exclude(url="").order_by("position"):
        _call(step, incident)
    Incident.objects.filter(pk=incident.pk).update(updated_at=at)
    return run


def _call(step: RunbookRunStep, incident: Incident) -> OutboxMessage:
    step.calls += 1
    message = outbox_enqueue(
        channel=CHANNEL,
        recipient=f"runbook step {step.pk}",
        subject=f"runbook step {step.position}: {incident.ref} {step.title}"[:300],
        payload={"run": step.run_id, "step": step.position},
        dedup_key=f"runbook:{step.pk}:{step.calls}",
        incident=incident,
        purpose=PURPOSE,
    )
    step.message = message
    step.call_state = CallState.QUEUED
    step.response_status = None
    step.response_excerpt = ""
    step.result_reason = ""
    step.result_at = None
    step.save(
        update_fields=[
            "calls",
            "message",
            "call_state",
            "response_status",
            "response_excerpt",
            "result_reason",
            "result_at",
        ]
    )
    return message


def _step(run: RunbookRun, position: int) -> RunbookRunStep:
    step = RunbookRunStep.objects.filter(run=run, position=position).first()
    if step is None:
        raise NotFound(f"the run has no step {position}")
    return step


@transaction.atomic
def run_step_set(*, run: RunbookRun, position: int, done: bool, actor: Actor) -> RunbookRunStep:
    """Tick a step done (or not done), on the timeline with the run's progress."""
    incident = run.incident
    require_for(actor, Action.RUNBOOK_RUN, incident, what="run runbooks")
    incident = _lock_open(incident)
    step = _step(run, position)
    if (step.done_at is not None) == done:
        return step
    at = now()
    step.done_at = at if done else None
    step.done_by = actor.user if done else None
    step.done_by_label = _who(actor) if done else ""
    step.save(update_fields=["done_at", "done_by", "done_by_label"])
    finished, total = progress(run)
    timeline_append(
        incident=incident,
        kind=EntryKind.RUNBOOK,
        actor=actor,
        text=(
            f"Runbook {run.name}: step {step.position} {'done' if done else 'not done'} — "
            f"{step.title} ({finished} of {total} done)."
        ),
        data={"run": run.pk, "step": step.position, "done": done, "event": "step"},
    )
    Incident.objects.filter(pk=incident.pk).update(updated_at=at)
    return step


@transaction.atomic
def run_step_call(*, run: RunbookRun, position: int, actor: Actor) -> RunbookRunStep:
    """Call an automated step again (its previous answer is replaced when the new one comes)."""
    incident = run.incident
    require_for(actor, Action.RUNBOOK_RUN, incident, what="run runbooks")
    incident = _lock_open(incident)
    step = RunbookRunStep.objects.select_for_update().get(pk=_step(run, position).pk)
    if not step.url:
        raise Conflict(f"step {position} is a manual step; it has no URL to call")
    if step.call_state in (CallState.QUEUED, CallState.RETRYING):
        raise Conflict(f"step {position} is being called; wait for its answer")
    _call(step, incident)
    timeline_append(
        incident=incident,
        kind=EntryKind.RUNBOOK,
        actor=actor,
        text=f"Runbook {run.name}: step {step.position} called again — {step.title}.",
        data={"run": run.pk, "step": step.position, "event": "call"},
    )
    return step


# --- the incident hook -------------------------------------------------------------------------


def _filed_from_outside(incident: Incident, actor: Actor) -> bool:
    """Filed by someone who may not run runbooks (a reporter in the portal or the API) or
    by email: their text would go into automated calls, so staff start those runs."""
    if incident.source == Source.EMAIL:
        return True
    user = actor.user if actor.kind in ("user", "token") else None
    return user is not None and not can(user, Action.RUNBOOK_RUN)


def on_created(*, incident: Incident, actor: Actor) -> None:
    """Start every run-on-open runbook of the incident's service/category (inside the
    creating transaction; the outbox sends its calls after the commit)."""
    if incident.service_id is None and incident.category_id is None:
        return
    if _filed_from_outside(incident, actor):
        return
    scoped = Q(service__isnull=False) | Q(category__isnull=False)

    def read() -> list[Runbook]:
        return list(
            Runbook.objects.filter(scoped, run_on_open=True, archived_at__isnull=True).order_by(
                "name", "pk"
            )
        )

    # every run-on-open runbook, once per engine batch (core.memo) for every service and
    # category (a storm opens hundreds of incidents over dozens of services); those whose
    # scope fits the incident (as _matching), in the same order
    service_id, category_id = incident.service_id, incident.category_id
    for runbook in memo("runbooks_on_open", read):
        if (runbook.service_id is None or runbook.service_id == service_id) and (
            runbook.category_id is None or runbook.category_id == category_id
        ):
            run_start(incident=incident, runbook=runbook, actor=RUN_ON_OPEN, automatic=True)


# --- the body sent, and the webhook channel's questions -------------------------------------


def _base_url() -> str:
    return str(getattr(settings, "BASE_URL", "") or "").rstrip("/")


def variables_for(step: RunbookRunStep, incident: Incident) -> dict[str, Any]:
    service = incident.service if incident.service_id is not None else None
    category = incident.category if incident.category_id is not None else None
    return {
        "incident.id": incident.number,
        "incident.number": incident.ref,
        "incident.title": incident.title,
        "incident.priority": f"P{incident.priority}",
        "incident.status": incident.status,
        "incident.service": service.name if service is not None else "",
        "incident.category": category.name if category is not None else "",
        "incident.url": _base_url() + reverse("incident", args=[incident.ref]),
        "runbook.name": step.run.name,
        "run.id": step.run_id,
        "step.position": step.position,
        "step.title": step.title,
    }


def _fill(value: Any, values: dict[str, Any]) -> Any:
    if isinstance(value, dict):
        return {k: _fill(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, values) for v in value]
    if not isinstance(value, str) or _OPEN not in value:
        return value
    whole = _PLACEHOLDER.fullmatch(value)
    if whole is not None:  # "{{ incident.id }}" alone keeps its type (a number stays one)
        return values.get(whole.group(1).strip(), "")
    return _PLACEHOLDER.sub(lambda m: str(values.get(m.group(1).strip(), "")), value)


def render_body(template: str, values: dict[str, Any]) -> dict[str, Any]:
    """The JSON document for a step: its template with the variables put in (text
    replacement inside JSON strings after parsing: a title with quotes or braces stays
    text), or the default document when it has none."""
    if not template.strip():
        return {
            "runbook": {"name": values["runbook.name"], "run": values["run.id"]},
            "step": {"position": values["step.position"], "title": values["step.title"]},
            "incident": {
                "id": values["incident.id"],
                "number": values["incident.number"],
                "title": values["incident.title"],
                "priority": values["incident.priority"],
                "status": values["incident.status"],
                "service": values["incident.service"] or None,
                "category": values["incident.category"] or None,
                "url": values["incident.url"],
            },
        }
    parsed = json.loads(template)
    filled = _fill(parsed, values)
    return filled if isinstance(filled, dict) else {}


def signing_secret(url: str) -> str:
    """The secret a step's receiver verifies the signature with: derived for the URL from
    the secret key, apart from the generic webhook channel's (so a runbook editor who
    types someone's webhook address does not learn the secret their pages are signed
    with)."""
    key = hmac.new(settings.SECRET_KEY.encode(), _SIGNING_INFO, hashlib.sha256).digest()
    return "whsec_" + hmac.new(key, url.encode(), hashlib.sha256).hexdigest()


def _step_of(message: OutboxMessage) -> RunbookRunStep | None:
    return (
        RunbookRunStep.objects.select_related(
            "run", "run__incident", "run__incident__service", "run__incident__category"
        )
        .filter(message_id=message.pk)
        .first()
    )


def resolve(*, message: OutboxMessage) -> WebhookTarget | str:
    """Where a runbook step's call goes, signed with which secret, with which body."""
    step = _step_of(message)
    if step is None:
        return "the runbook step was called again or no longer exists"
    if not step.url:
        return "the runbook step has no URL"
    try:
        document = render_body(step.body_template, variables_for(step, step.run.incident))
    except ValueError:
        return "the step's body template is not JSON"
    return WebhookTarget(
        url=step.url, secret=signing_secret(step.url), document=document, keep_reply=True
    )


def on_outcome(*, message: OutboxMessage, outcome: Outcome, reason: str) -> None:
    """Record what the endpoint answered on the run's step and on the timeline (inside the
    outbox's outcome transaction); a 2xx ticks the step."""
    if message.purpose != PURPOSE:
        return
    from tocsin.notify.channels.webhook import reply_of

    step = _step_of(message)
    if step is None:
        return
    reply = reply_of(message)
    at = now()
    step.response_status = reply.status if reply is not None else None
    step.response_excerpt = reply.excerpt if reply is not None else ""
    step.result_reason = reason[:2000]
    step.result_at = at
    fields = ["response_status", "response_excerpt", "result_reason", "result_at", "call_state"]
    if outcome == "retry":
        step.call_state = CallState.RETRYING
        step.save(update_fields=fields)
        return
    step.call_state = CallState.SENT if outcome == "sent" else CallState.FAILED
    system = Actor.system("runbook")
    if outcome == "sent" and step.done_at is None:
        step.done_at = at
        step.done_by = None
        step.done_by_label = "Tocsin · runbook"
        fields += ["done_at", "done_by", "done_by_label"]
    step.save(update_fields=fields)
    run = step.run
    finished, total = progress(run)
    said = ""
    if reply is not None:
        excerpt = " ".join(reply.excerpt.split())
        if len(excerpt) > EXCERPT_SHOWN:
            excerpt = excerpt[: EXCERPT_SHOWN - 1] + "…"
        said = f"HTTP {reply.status}" + (f": {excerpt}" if excerpt else "")
    else:
        said = reason[:EXCERPT_SHOWN]
    verb = "answered" if outcome == "sent" else "failed"
    timeline_append(
        incident=run.incident,
        kind=EntryKind.RUNBOOK,
        actor=system,
        text=(
            f"Runbook {run.name}: step {step.position} {verb} — {step.title}. {said}"
            + (f" ({finished} of {total} done)." if outcome == "sent" else "")
        ).strip(),
        data={
            "run": run.pk,
            "step": step.position,
            "event": "call_" + outcome,
            "status": step.response_status,
        },
    )


def register() -> None:
    """Called once from learning.wiring.register()."""
    from tocsin.incidents import hooks as incident_hooks
    from tocsin.learning import runbook_views
    from tocsin.notify import hooks as notify_hooks

    incident_hooks.register(incident_hooks.on_created, on_created)
    incident_hooks.register(incident_hooks.incident_page_sections, runbook_views.runbook_section)
    notify_hooks.register(on_outcome)
    notify_hooks.register_webhook_resolver(PURPOSE, resolve)
