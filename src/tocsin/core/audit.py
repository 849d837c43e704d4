"""The audit log: who changed which configuration, from where, and what it was before.

Services call `audit_record(...)` inside their own transaction, so an entry exists exactly
when the change does. `before`/`after` hold only the fields that changed; values under a
secret-looking key (password, secret, token, key, hmac, signature) are never stored, only
"[redacted]". Entries are never changed or deleted. Reads for the admin page and the API
are `audit_search`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal, get_args

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q, QuerySet

from tocsin.core.actors import Actor, ActorKind
from tocsin.core.clock import now
from tocsin.core.models import AuditEntry

REDACTED = "[redacted]"
_SECRET_KEY = re.compile(r"pass|secret|token|key|hmac|signature|credential", re.IGNORECASE)
# Keys that match the pattern above but are not secrets.
_NOT_SECRET = frozenset({"key_prefix", "prefix", "token_name", "hmac_header", "signature_header"})

_TYPE_NAMES = {
    "apitoken": "token",
    "maintenancewindow": "maintenance_window",
    "prioritymatrixcell": "priority_matrix",
    "slatarget": "sla_target",
    "businesscalendar": "business_calendar",
}


class _Encoder(DjangoJSONEncoder):
    def default(self, o: Any) -> Any:
        if isinstance(o, models.Model):
            return str(o)
        if isinstance(o, (set, frozenset)):
            return sorted(o, key=str)
        try:
            return super().default(o)
        except TypeError:
            return str(o)


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, cls=_Encoder))


def redact(value: Any) -> Any:
    """A copy with every value under a secret-looking key replaced by "[redacted]"."""
    if isinstance(value, Mapping):
        return {
            str(k): (
                REDACTED
                if _SECRET_KEY.search(str(k)) and str(k) not in _NOT_SECRET and v not in ("", None)
                else redact(v)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value


def snapshot(obj: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """The named fields of `obj` as JSON-ready values (a foreign key as its text)."""
    out: dict[str, Any] = {}
    for name in fields:
        value = getattr(obj, name)
        if isinstance(value, models.Manager):
            value = sorted(str(item) for item in value.all())
        out[name] = value
    return _plain(out)


def object_type_of(obj: models.Model) -> str:
    name = obj._meta.model_name or type(obj).__name__.lower()
    return _TYPE_NAMES.get(name, name)


def audit_record(
    *,
    actor: Actor,
    action: str,
    obj: models.Model | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    object_type: str = "",
    object_id: str | int | None = None,
    object_label: str = "",
) -> AuditEntry | None:
    """Append one entry; call it inside the transaction of the change it records.

    With both `before` and `after`, only the keys whose values differ are kept, and an
    update that changed nothing writes no entry (and answers None).
    """
    old = _plain(dict(before)) if before is not None else None
    new = _plain(dict(after)) if after is not None else None
    if old is not None and new is not None:
        changed = [k for k in dict.fromkeys([*old, *new]) if old.get(k) != new.get(k)]
        if not changed:
            return None
        old = {k: old.get(k) for k in changed if k in old}
        new = {k: new.get(k) for k in changed if k in new}
    old, new = redact(old), redact(new)
    if obj is not None:
        object_type = object_type or object_type_of(obj)
        object_id = obj.pk if object_id is None else object_id
        object_label = object_label or str(obj)
    return AuditEntry.objects.create(
        at=now(),
        action=action[:64],
        object_type=object_type[:50],
        object_id="" if object_id is None else str(object_id)[:64],
        object_label=object_label[:200],
        actor_kind=str(actor.kind),
        actor_label=actor.label[:200],
        actor_user=actor.user,
        actor_token_id=actor.token.pk if actor.token is not None else None,
        actor_integration_id=actor.integration_id,
        ip=actor.ip or None,
        request_id=actor.request_id[:64],
        before=old,
        after=new,
    )


# --- reads ------------------------------------------------------------------------------------


def audit_search(
    *,
    actor: str | None = None,
    action: str | None = None,
    object_type: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    text: str | None = None,
) -> QuerySet[AuditEntry]:
    """Entries, newest first. `actor` matches a username or actor label (part of it);
    `action` an action name or its prefix before the dot ("user" finds user.create and
    user.update); `text` any part of the object's label or id, the actor, the action, the
    address or the request id."""
    entries = AuditEntry.objects.select_related("actor_user")
    if actor:
        entries = entries.filter(
            Q(actor_label__icontains=actor) | Q(actor_user__username__iexact=actor)
        )
    if action:
        entries = entries.filter(Q(action=action) | Q(action__startswith=f"{action}."))
    if object_type:
        entries = entries.filter(object_type=object_type)
    if since is not None:
        entries = entries.filter(at__gte=since)
    if until is not None:
        entries = entries.filter(at__lt=until)
    if text:
        entries = entries.filter(
            Q(object_label__icontains=text)
            | Q(object_id=text)
            | Q(actor_label__icontains=text)
            | Q(action__icontains=text)
            | Q(request_id=text)
            | Q(ip__startswith=text)
        )
    return entries.order_by("-at", "-id")


def audit_json(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.pk,
        "at": entry.at,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "object_label": entry.object_label,
        "actor": {
            "kind": entry.actor_kind,
            "label": entry.actor_label,
            "username": entry.actor_user.username if entry.actor_user is not None else None,
            "token_id": entry.actor_token_id,
            "integration_id": entry.actor_integration_id,
        },
        "ip": entry.ip,
        "request_id": entry.request_id,
        "before": entry.before,
        "after": entry.after,
    }


ACTOR_KINDS = ActorKind.values
ObjectType = Literal[
    "user",
    "team",
    "token",
    "service",
    "category",
    "integration",
    "maintenance_window",
    "silence",
    "priority_matrix",
    "sla_target",
    "business_calendar",
]
OBJECT_TYPES: tuple[str, ...] = get_args(ObjectType)
ACTION_PATTERN = r"^[a-z_]{1,40}(\.[a-z_]{1,40})?$"
