from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connections, models, router
from django.db.models import F

from tocsin.core.actors import ActorKind


class Counter(models.Model):
    """A named counter whose values are never reused (incident numbers)."""

    name = models.CharField(max_length=50, unique=True)
    value = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name}={self.value}"

    @classmethod
    def next_value(cls, name: str) -> int:
        """Increment inside the caller's transaction; the row lock serialises writers.

        One `UPDATE ... RETURNING` (the counter's row is locked from it until the
        caller's transaction ends, so it is one round trip, not three); the row is
        created the first time.
        """
        db = connections[router.db_for_write(cls)]
        if db.vendor not in ("postgresql", "sqlite") or (
            db.vendor == "sqlite" and not db.features.can_return_rows_from_bulk_insert
        ):
            cls.objects.get_or_create(name=name)
            cls.objects.filter(name=name).update(value=F("value") + 1)
            return cls.objects.values_list("value", flat=True).get(name=name)
        quote = db.ops.quote_name
        meta = cls._meta
        columns = {field.name: field.column for field in meta.concrete_fields}
        value, key = quote(columns["value"]), quote(columns["name"])
        sql = (
            f"UPDATE {quote(meta.db_table)} SET {value} = {value} + 1 "  # noqa: S608 - quoted metadata
            f"WHERE {key} = %s RETURNING {value}"
        )
        for _ in range(2):
            with db.cursor() as cursor:
                cursor.execute(sql, [name])
                found = cursor.fetchone()
            if found is not None:
                return int(found[0])
            cls.objects.using(db.alias).get_or_create(name=name)
        raise RuntimeError(f"counter {name!r} could not be created")


class IdempotencyRecord(models.Model):
    """The first answer to a create with an Idempotency-Key, replayed for 24 hours."""

    owner = models.CharField(max_length=150)
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    # SHA-256 of the request body (JSON canonicalised, forms by field and file content):
    # the same key with another body is refused, not answered with the first reply.
    request_hash = models.CharField(max_length=64, blank=True, default="")
    status_code = models.PositiveSmallIntegerField()
    body = models.JSONField()
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "key"], name="idempotency_owner_key"),
        ]

    def __str__(self) -> str:
        return f"{self.owner}:{self.key}"


class AuditEntry(models.Model):
    """One configuration change, sign-in or failed sign-in. Append-only: written by
    `tocsin.core.audit.audit_record` in the transaction of the change, never updated or
    deleted (the admin shows it read-only; `save()` refuses to change a stored row)."""

    at = models.DateTimeField("time", db_index=True)
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=50, db_index=True)
    object_id = models.CharField("object ID", max_length=64, blank=True)
    object_label = models.CharField("object", max_length=200, blank=True)
    actor_kind = models.CharField("actor kind", max_length=20, choices=ActorKind.choices)
    actor_label = models.CharField("actor", max_length=200, blank=True)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    actor_token_id = models.PositiveBigIntegerField(null=True, blank=True)
    actor_integration_id = models.PositiveBigIntegerField(null=True, blank=True)
    ip = models.GenericIPAddressField("IP address", null=True, blank=True)
    request_id = models.CharField("request ID", max_length=64, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_label} {self.action} {self.object_label}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("the audit log is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValueError("the audit log is append-only")


class SignInThrottle(models.Model):
    """Failed sign-ins counted per (username, address) and per address, with the lock-out
    they earned (accounts.services.signin_*). In the database, so every web process sees it."""

    scope = models.CharField(max_length=10)  # "user_ip" or "ip"
    key = models.CharField(max_length=255)
    failures = models.PositiveIntegerField(default=0)
    first_failure_at = models.DateTimeField()
    last_failure_at = models.DateTimeField()
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "sign-in throttle"
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="signin_throttle_scope_key"),
        ]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key} ({self.failures})"


class Lease(models.Model):
    """A named lease one worker holds at a time: what an engine module takes when it must
    run alone (e.g. `ingest:service:7`, so that one service's inbox rows are never applied
    out of order or by two workers at once). See `tocsin.core.leases`.

    Transient: a lease nobody renews lapses on its own; rows are made on first use.
    """

    name = models.CharField(max_length=100, unique=True)
    holder = models.CharField(max_length=200, blank=True)
    lease_until = models.DateTimeField()

    class Meta:
        verbose_name = "worker lease"

    def __str__(self) -> str:
        return f"{self.name} held by {self.holder or 'nobody'} until {self.lease_until:%H:%M:%S}"
