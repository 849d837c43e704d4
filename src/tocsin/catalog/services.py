"""Writes for services and the category taxonomy."""

from __future__ import annotations

import re
import secrets
from typing import Any

from django.db import transaction

from tocsin.accounts.models import Team
from tocsin.catalog.hooks import integration_changed
from tocsin.catalog.models import (
    Category,
    Grouping,
    Integration,
    IntegrationKind,
    Service,
    default_severity_map,
)
from tocsin.catalog.war_room import clean_template
from tocsin.core.actors import Actor
from tocsin.core.audit import audit_record, snapshot
from tocsin.core.clock import now
from tocsin.core.crypto import encrypt, sha256_hex
from tocsin.core.errors import Conflict, Invalid

SERVICE_AUDIT_FIELDS = ("name", "description", "team", "is_active")
INTEGRATION_AUDIT_FIELDS = ("name", "kind", "service", "options", "key_prefix")


@transaction.atomic
def service_create(
    *, name: str, description: str = "", team: Team | None = None, actor: Actor
) -> Service:
    name = name.strip()
    if not name:
        raise Invalid("name", "must not be empty")
    if Service.objects.filter(name__iexact=name).exists():
        raise Conflict(f"a service named {name!r} already exists")
    service = Service.objects.create(name=name, description=description, team=team)
    audit_record(
        actor=actor,
        action="service.create",
        obj=service,
        after=snapshot(service, SERVICE_AUDIT_FIELDS),
    )
    return service


@transaction.atomic
def service_update(
    *,
    service: Service,
    name: str | None = None,
    description: str | None = None,
    team: Team | None = None,
    clear_team: bool = False,
    is_active: bool | None = None,
    actor: Actor,
) -> Service:
    before = snapshot(service, SERVICE_AUDIT_FIELDS)
    if name is not None:
        name = name.strip()
        if not name:
            raise Invalid("name", "must not be empty")
        if Service.objects.filter(name__iexact=name).exclude(pk=service.pk).exists():
            raise Conflict(f"a service named {name!r} already exists")
        service.name = name
    if description is not None:
        service.description = description
    if team is not None or clear_team:
        service.team = team
    if is_active is not None:
        service.is_active = is_active
    service.save()
    audit_record(
        actor=actor,
        action="service.update",
        obj=service,
        before=before,
        after=snapshot(service, SERVICE_AUDIT_FIELDS),
    )
    return service


# --- alert settings -----------------------------------------------------------------

SEVERITIES = ("critical", "error", "warning", "info")
ALERT_SETTINGS = (
    "severity_map",
    "auto_resolve",
    "grouping",
    "group_labels",
    "group_window_minutes",
    "storm_threshold",
    "ingest_rate_limit",
    "ack_timeout_minutes",
)
ACK_TIMEOUT_MAX = 7 * 24 * 60
GROUP_WINDOW_MAX = 7 * 24 * 60  # a week, in minutes
STORM_THRESHOLD_MAX = 100_000
RATE_LIMIT_MAX = 1_000_000
GROUP_LABELS_MAX = 20
_LABEL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,99}$")


def _whole(field: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(field, "must be a whole number")
    if not low <= value <= high:
        raise Invalid(field, f"must be between {low} and {high}")
    return value


def clean_severity_map(value: Any) -> dict[str, list[int]]:
    """{"critical": [impact, urgency], ...}; severities left out keep the default."""
    if not isinstance(value, dict):
        raise Invalid("severity_map", 'must be an object like {"critical": [1, 1]}')
    unknown = sorted(set(value) - set(SEVERITIES))
    if unknown:
        raise Invalid(
            "severity_map", f"unknown severity {unknown[0]!r}: use {', '.join(SEVERITIES)}"
        )
    result = default_severity_map()
    for severity, pair in value.items():
        if (
            not isinstance(pair, (list, tuple))
            or len(pair) != 2
            or any(isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 4 for v in pair)
        ):
            raise Invalid("severity_map", f"{severity} must be [impact, urgency], each from 1 to 4")
        result[severity] = [int(pair[0]), int(pair[1])]
    return result


def clean_group_labels(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise Invalid("group_labels", "must be a list of label names")
    if len(value) > GROUP_LABELS_MAX:
        raise Invalid("group_labels", f"at most {GROUP_LABELS_MAX} labels")
    labels: list[str] = []
    for item in value:
        if not isinstance(item, str) or not _LABEL_NAME.match(item.strip()):
            raise Invalid(
                "group_labels",
                f"{item!r} is not a label name (letters, digits, _ . -, starting with a letter)",
            )
        if item.strip() not in labels:
            labels.append(item.strip())
    return labels


def clean_alert_settings(service: Service, changes: dict[str, Any]) -> dict[str, Any]:
    """Check alert settings (only those in `changes`) against each other and the service."""
    unknown = sorted(set(changes) - set(ALERT_SETTINGS))
    if unknown:
        raise Invalid(unknown[0], "is not an alert setting")
    cleaned: dict[str, Any] = {}
    if "severity_map" in changes:
        cleaned["severity_map"] = clean_severity_map(changes["severity_map"])
    if "auto_resolve" in changes:
        if not isinstance(changes["auto_resolve"], bool):
            raise Invalid("auto_resolve", "must be true or false")
        cleaned["auto_resolve"] = changes["auto_resolve"]
    if "grouping" in changes:
        if changes["grouping"] not in Grouping.values:
            raise Invalid("grouping", f"must be one of {', '.join(Grouping.values)}")
        cleaned["grouping"] = changes["grouping"]
    if "group_labels" in changes:
        cleaned["group_labels"] = clean_group_labels(changes["group_labels"])
    if "group_window_minutes" in changes:
        cleaned["group_window_minutes"] = _whole(
            "group_window_minutes", changes["group_window_minutes"], 1, GROUP_WINDOW_MAX
        )
    if "storm_threshold" in changes:
        cleaned["storm_threshold"] = _whole(
            "storm_threshold", changes["storm_threshold"], 1, STORM_THRESHOLD_MAX
        )
    if "ingest_rate_limit" in changes:
        limit = changes["ingest_rate_limit"]
        cleaned["ingest_rate_limit"] = (
            None if limit is None else _whole("ingest_rate_limit", limit, 1, RATE_LIMIT_MAX)
        )
    if "ack_timeout_minutes" in changes:
        minutes = changes["ack_timeout_minutes"]
        cleaned["ack_timeout_minutes"] = (
            None if minutes is None else _whole("ack_timeout_minutes", minutes, 1, ACK_TIMEOUT_MAX)
        )
    grouping = cleaned.get("grouping", service.grouping)
    labels = cleaned.get("group_labels", service.group_labels)
    if grouping == Grouping.LABELS and not labels:
        field = (
            "group_labels" if "group_labels" in cleaned or "grouping" not in cleaned else "grouping"
        )
        raise Invalid(field, "grouping by labels needs at least one label in group_labels")
    return cleaned


@transaction.atomic
def service_update_alert_settings(
    *, service: Service, changes: dict[str, Any], actor: Actor
) -> Service:
    """Change how the service's alerts become incidents (validated; all or nothing)."""
    cleaned = clean_alert_settings(service, changes)
    before = snapshot(service, list(cleaned))
    for name, value in cleaned.items():
        setattr(service, name, value)
    if cleaned:
        service.save(update_fields=list(cleaned))
        audit_record(
            actor=actor,
            action="service.alert_settings",
            obj=service,
            before=before,
            after=snapshot(service, list(cleaned)),
        )
    return service


@transaction.atomic
def service_update_war_room(
    *,
    service: Service,
    chat_url_template: str | None = None,
    video_url_template: str | None = None,
    actor: Actor,
) -> Service:
    """Set the war-room link templates (None leaves one as is; "" clears it). Checked
    before anything is written: http(s) only, known variables only."""
    cleaned: dict[str, str] = {}
    if chat_url_template is not None:
        cleaned["chat_url_template"] = clean_template("chat_url_template", chat_url_template)
    if video_url_template is not None:
        cleaned["video_url_template"] = clean_template("video_url_template", video_url_template)
    changed = {k: v for k, v in cleaned.items() if getattr(service, k) != v}
    if not changed:
        return service
    before = snapshot(service, list(changed))
    for name, value in changed.items():
        setattr(service, name, value)
    service.save(update_fields=list(changed))
    audit_record(
        actor=actor,
        action="service.war_room",
        obj=service,
        before=before,
        after=snapshot(service, list(changed)),
    )
    return service


@transaction.atomic
def category_create(*, name: str, parent: Category | None = None, actor: Actor) -> Category:
    name = name.strip()
    if not name:
        raise Invalid("name", "must not be empty")
    if parent is not None and parent.parent_id is not None:
        raise Invalid("parent", "subcategories cannot have children (two levels only)")
    if Category.objects.filter(name__iexact=name, parent=parent).exists():
        raise Conflict(f"category {name!r} already exists there")
    category = Category.objects.create(name=name, parent=parent)
    audit_record(
        actor=actor,
        action="category.create",
        obj=category,
        after=snapshot(category, ("name", "parent")),
    )
    return category


@transaction.atomic
def category_set_active(*, category: Category, is_active: bool, actor: Actor) -> Category:
    """Offer the category for new incidents again, or stop offering it (incidents that have
    it keep it)."""
    locked = Category.objects.select_for_update().get(pk=category.pk)
    if locked.is_active != is_active:
        locked.is_active = is_active
        locked.save(update_fields=["is_active"])
        audit_record(
            actor=actor,
            action="category.update",
            obj=locked,
            before={"is_active": not is_active},
            after={"is_active": is_active},
        )
    return locked


# --- integrations -------------------------------------------------------------------

KEY_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
KEY_LENGTH = 32


def new_integration_key() -> str:
    """32 lowercase letters and digits (PagerDuty's routing keys have 32 characters)."""
    return "".join(secrets.choice(KEY_ALPHABET) for _ in range(KEY_LENGTH))


@transaction.atomic
def integration_create(
    *,
    service: Service,
    kind: str,
    name: str = "",
    options: dict[str, Any] | None = None,
    secret: str = "",
    actor: Actor,
) -> tuple[Integration, str]:
    """Create an integration; returns it with its key, which is shown once."""
    if kind not in IntegrationKind.values:
        raise Invalid("kind", f"must be one of {', '.join(IntegrationKind.values)}")
    key = new_integration_key()
    integration = Integration.objects.create(
        service=service,
        kind=kind,
        name=name.strip() or IntegrationKind(kind).label,
        key_hash=sha256_hex(key),
        key_prefix=key[:6],
        options=options or {},
        secret_encrypted=encrypt(secret),
        created_at=now(),
    )
    audit_record(
        actor=actor,
        action="integration.create",
        obj=integration,
        after=snapshot(integration, INTEGRATION_AUDIT_FIELDS),
    )
    return integration, key


@transaction.atomic
def integration_rotate(*, integration: Integration, actor: Actor) -> tuple[Integration, str]:
    """A new key replaces the old one at once."""
    if integration.revoked_at is not None:
        raise Conflict("a revoked integration cannot be rotated")
    before = snapshot(integration, ("key_prefix",))
    key = new_integration_key()
    integration.key_hash = sha256_hex(key)
    integration.key_prefix = key[:6]
    integration.rotated_at = now()
    integration.save(update_fields=["key_hash", "key_prefix", "rotated_at"])
    audit_record(
        actor=actor,
        action="integration.rotate_key",
        obj=integration,
        before=before,
        after=snapshot(integration, ("key_prefix",)),
    )
    return integration, key


@transaction.atomic
def integration_revoke(*, integration: Integration, actor: Actor) -> Integration:
    if integration.revoked_at is None:
        integration.revoked_at = now()
        integration.save(update_fields=["revoked_at"])
        audit_record(
            actor=actor,
            action="integration.revoke",
            obj=integration,
            before={"revoked_at": None},
            after={"revoked_at": integration.revoked_at},
        )
    return integration


# --- integration options, per kind ---------------------------------------------------
#
# Webhook field mapping: a path is dot-separated keys into the JSON body, e.g.
# "alert.title" (also "$.alert.title"; list indexes as "alerts[0].name" or "alerts.0.name").
# An empty path means "not mapped" (except the summary, which is required).
# Secrets: grafana's hmac_secret and the bearer_token of alertmanager/webhook are stored
# encrypted in Integration.secret_encrypted; options["auth"] says which one ("hmac" or
# "bearer") is set. Grafana's timestamp_header is stored as options
# "hmac_timestamp_header" + "hmac_require_timestamp", its hmac_header as "hmac_header"
# (read by tocsin.alerts.ingest_auth; blank: both of Grafana's header names).
# Heartbeats are due from creation: a heartbeat that never pings is
# noticed interval + grace after it was set up.

WEBHOOK_DEFAULTS = {
    "summary_path": "summary",
    "severity_path": "severity",
    "dedup_key_path": "dedup_key",
    "status_path": "status",
    "source_path": "",
    "resolved_value": "resolved",
    "acknowledged_value": "",
}
WEBHOOK_PATHS = ("summary_path", "severity_path", "dedup_key_path", "status_path", "source_path")
HEARTBEAT_INTERVAL_MIN = 30
HEARTBEAT_INTERVAL_MAX = 31 * 24 * 3600
HEARTBEAT_GRACE_MAX = 7 * 24 * 3600
HEARTBEAT_GRACE_DEFAULT = 60
PATH_MAX = 200
PATH_SEGMENTS_MAX = 20
SECRET_MAX = 500
_HEADER_NAME = re.compile(r"^[A-Za-z0-9-]{1,64}$")
_INDEX = re.compile(r"\[(\d+)\]")

KIND_OPTIONS: dict[str, tuple[str, ...]] = {
    IntegrationKind.PAGERDUTY: (),
    IntegrationKind.OPSGENIE: (),
    IntegrationKind.EMAIL: ("staff_mail_public",),
    IntegrationKind.ALERTMANAGER: ("bearer_token",),
    IntegrationKind.WEBHOOK: (*WEBHOOK_DEFAULTS, "bearer_token"),
    IntegrationKind.GRAFANA: ("hmac_secret", "hmac_header", "timestamp_header"),
    IntegrationKind.HEARTBEAT: ("interval_seconds", "grace_seconds"),
}
SECRET_OPTIONS = {"bearer_token": "bearer", "hmac_secret": "hmac"}
ALL_OPTIONS = frozenset(name for names in KIND_OPTIONS.values() for name in names)


def parse_path(field: str, value: Any, *, required: bool = False) -> str:
    """Check a webhook field path; returns it stripped ("" = not mapped).

    The syntax (read by tocsin.alerts.adapters.webhook): keys separated by dots, an
    optional "$." in front, list indexes as ".0" or "[0]": "alert.title",
    "$.alert.title", "alerts[0].labels.severity".
    """
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise Invalid(field, "must be a text path like alert.title")
    path = value.strip()
    if not path:
        if required:
            raise Invalid(field, "must not be empty")
        return ""
    if len(path) > PATH_MAX:
        raise Invalid(field, f"at most {PATH_MAX} characters")
    bare = path[1:] if path.startswith("$") else path
    if path.startswith("$") and bare and not bare.startswith("."):
        raise Invalid(field, "after $ comes a dot: $.alert.title")
    bare = _INDEX.sub(r".\1", bare.removeprefix("."))
    segments = bare.split(".")
    if not bare or len(segments) > PATH_SEGMENTS_MAX:
        raise Invalid(field, f"must have 1 to {PATH_SEGMENTS_MAX} keys, like alert.title")
    for segment in segments:
        if (
            not segment
            or segment != segment.strip()
            or not segment.isprintable()
            or any(c in segment for c in "[]$")
        ):
            raise Invalid(
                field, "must be keys separated by single dots, like alert.title or alerts[0].name"
            )
    return path


def _clean_secret(field: str, value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Invalid(field, "must be text")
    value = value.strip()
    if len(value) > SECRET_MAX or not value.isprintable():
        raise Invalid(field, f"must be at most {SECRET_MAX} printable characters")
    return value


def clean_integration_options(
    kind: str, sent: dict[str, Any], current: dict[str, Any] | None = None
) -> tuple[dict[str, Any], str | None]:
    """Validate the options sent for a kind, merged over `current`.

    Returns (options to store, new secret or None when the secret is unchanged);
    a secret sent as "" or null is removed.
    """
    allowed = KIND_OPTIONS.get(kind, ())
    for name in sent:
        if name not in allowed:
            label = IntegrationKind(kind).label if kind in IntegrationKind.values else kind
            raise Invalid(name, f"is not an option of a {label} integration")
    options = dict(current or {})
    secret: str | None = None
    if kind == IntegrationKind.WEBHOOK:
        for name, default in WEBHOOK_DEFAULTS.items():
            options.setdefault(name, default)
        for name in WEBHOOK_PATHS:
            if name in sent:
                options[name] = parse_path(name, sent[name], required=name == "summary_path")
        for name in ("resolved_value", "acknowledged_value"):
            if name in sent:
                value = sent[name] if sent[name] is not None else ""
                if not isinstance(value, str) or len(value) > 100 or "\x00" in value:
                    raise Invalid(name, "must be text of at most 100 characters")
                if name == "resolved_value" and not value.strip():
                    raise Invalid(name, "must not be empty")
                options[name] = value.strip()
        if (
            options["acknowledged_value"]
            and options["acknowledged_value"] == options["resolved_value"]
        ):
            raise Invalid("acknowledged_value", "must differ from resolved_value")
    if kind == IntegrationKind.EMAIL and "staff_mail_public" in sent:
        # Mail from a staff address: an internal note unless this is set (From is forgeable).
        if not isinstance(sent["staff_mail_public"], bool):
            raise Invalid("staff_mail_public", "must be true or false")
        options["staff_mail_public"] = sent["staff_mail_public"]
    if kind == IntegrationKind.HEARTBEAT:
        if "interval_seconds" not in sent and "interval_seconds" not in options:
            raise Invalid("interval_seconds", "is required for a heartbeat")
        if "interval_seconds" in sent:
            options["interval_seconds"] = _whole(
                "interval_seconds",
                sent["interval_seconds"],
                HEARTBEAT_INTERVAL_MIN,
                HEARTBEAT_INTERVAL_MAX,
            )
        if "grace_seconds" in sent:
            options["grace_seconds"] = _whole(
                "grace_seconds", sent["grace_seconds"], 0, HEARTBEAT_GRACE_MAX
            )
        options.setdefault("grace_seconds", HEARTBEAT_GRACE_DEFAULT)
    if kind == IntegrationKind.GRAFANA and "timestamp_header" in sent:
        # Stored as the ingest side reads it (tocsin.alerts.ingest_auth): once a timestamp
        # header is configured, signatures without a timestamp are refused (replay guard).
        header = sent["timestamp_header"]
        if header in (None, ""):
            options.pop("hmac_timestamp_header", None)
            options.pop("hmac_require_timestamp", None)
        elif not isinstance(header, str) or not _HEADER_NAME.match(header.strip()):
            raise Invalid("timestamp_header", "must be a header name (letters, digits and -)")
        else:
            options["hmac_timestamp_header"] = header.strip()
            options["hmac_require_timestamp"] = True
    if kind == IntegrationKind.GRAFANA and "hmac_header" in sent:
        header = sent["hmac_header"]
        if header in (None, ""):
            options.pop("hmac_header", None)
        elif not isinstance(header, str) or not _HEADER_NAME.match(header.strip()):
            raise Invalid("hmac_header", "must be a header name (letters, digits and -)")
        else:
            options["hmac_header"] = header.strip()
    for name, auth in SECRET_OPTIONS.items():
        if name in sent:
            secret = _clean_secret(name, sent[name])
            if secret:
                options["auth"] = auth
            else:
                options.pop("auth", None)
    return options, secret


def _clean_name(name: str | None) -> str | None:
    if name is None:
        return None
    if not isinstance(name, str):
        raise Invalid("name", "must be text")
    name = name.strip()
    if len(name) > 100 or not name.isprintable():
        raise Invalid("name", "must be at most 100 printable characters")
    return name


@transaction.atomic
def integration_setup(
    *,
    service: Service,
    kind: str,
    name: str = "",
    options: dict[str, Any] | None = None,
    actor: Actor,
) -> tuple[Integration, str]:
    """Create an integration of a kind from its user-facing options (validated).

    Returns the integration and its key, which is shown once.
    """
    if kind not in IntegrationKind.values:
        raise Invalid("kind", f"must be one of {', '.join(IntegrationKind.values)}")
    if not service.is_active:
        raise Conflict("the service is inactive: reactivate it before adding integrations")
    cleaned_name = _clean_name(name) or ""
    stored, secret = clean_integration_options(kind, options or {})
    integration, key = integration_create(
        service=service,
        kind=kind,
        name=cleaned_name,
        options=stored,
        secret=secret or "",
        actor=actor,
    )
    integration_changed(integration)  # e.g. alerts creates a heartbeat's expected pings
    return integration, key


@transaction.atomic
def integration_update(
    *,
    integration: Integration,
    name: str | None = None,
    options: dict[str, Any] | None = None,
    actor: Actor,
) -> Integration:
    """Rename an integration or change its options (secrets replaced or removed)."""
    if integration.revoked_at is not None:
        raise Conflict("a revoked integration cannot be changed")
    before = snapshot(integration, ("name", "options", "secret_encrypted"))
    fields: list[str] = []
    cleaned_name = _clean_name(name)
    if cleaned_name is not None:
        integration.name = cleaned_name or IntegrationKind(integration.kind).label
        fields.append("name")
    if options:
        stored, secret = clean_integration_options(integration.kind, options, integration.options)
        integration.options = stored
        fields.append("options")
        if secret is not None:
            integration.secret_encrypted = encrypt(secret)
            fields.append("secret_encrypted")
    if fields:
        integration.save(update_fields=fields)
        audit_record(
            actor=actor,
            action="integration.update",
            obj=integration,
            before=before,
            after=snapshot(integration, ("name", "options", "secret_encrypted")),
        )
    if options:
        integration_changed(integration)
    return integration


def integration_secrets_rotate() -> tuple[int, int]:
    """Re-encrypt every stored integration secret under the current secret key.

    Returns (rewritten, unreadable): a secret that no configured key opens is left as it
    is and counted, so the operator can put the missing old key back in the fallbacks.
    """
    from tocsin.core.crypto import rotate

    rewritten = unreadable = 0
    for pk, token in Integration.objects.exclude(secret_encrypted="").values_list(
        "pk", "secret_encrypted"
    ):
        try:
            fresh = rotate(token)
        except ValueError:
            unreadable += 1
            continue
        with transaction.atomic():
            Integration.objects.filter(pk=pk, secret_encrypted=token).update(secret_encrypted=fresh)
        rewritten += 1
    return rewritten, unreadable


TEST_RECEIVED = "test_received_at"  # options key: when the sender's "Test" last arrived


@transaction.atomic
def integration_record_test(*, integration: Integration, at: Any) -> Integration:
    """A sender's test notification (Grafana's "Test" button) arrived: remember when, on the
    integration itself (shown on the service page and in the API), instead of an alert."""
    locked = Integration.objects.select_for_update().get(pk=integration.pk)
    options = dict(locked.options or {})
    options[TEST_RECEIVED] = at.isoformat()
    locked.options = options
    locked.save(update_fields=["options"])
    integration.options = options
    return locked
