"""Django admin is a window on the data, never a second write path.

Models that have services are shown read-only (`ReadOnlyAdmin`, with a note pointing to
the UI or API that changes them) or save through their services
(`ServiceWriteAdmin`): the service's checks run and its refusal is shown as a form error.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models, transaction
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse

from tocsin.core.actors import Actor
from tocsin.core.errors import Invalid, TocsinError
from tocsin.core.models import AuditEntry, Counter, IdempotencyRecord, Lease, SignInThrottle

admin.site.site_header = "Tocsin administration"
admin.site.site_title = "Tocsin admin"
admin.site.index_title = "Configuration"


def admin_actor(request: HttpRequest) -> Actor:
    """The person signed in to the admin, with their address and the request id: every
    service an admin page calls records them in the audit log."""
    return Actor.for_request(request)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Shown, never changed here: `note` says where it is changed."""

    note = "Read-only here: changes go through Tocsin's pages and API."

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        return super().changelist_view(request, {"subtitle": self.note, **(extra_context or {})})

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        extra = {"subtitle": self.note, **(extra_context or {})}
        return super().change_view(request, object_id, form_url, extra)


def _through_service(
    base: type[ModelForm], model_admin: ServiceWriteAdmin, request: HttpRequest, *, change: bool
) -> type[ModelForm]:
    class ThroughService(base):  # type: ignore[valid-type,misc]
        instance: models.Model

        def _post_clean(self) -> None:
            super()._post_clean()
            if self.errors or (change and not self.changed_data):
                return
            model = type(self.instance)
            current = model._default_manager.get(pk=self.instance.pk) if change else None
            try:
                with transaction.atomic():
                    self.instance = model_admin.write(
                        request, current, self.cleaned_data, list(self.changed_data)
                    )
            except TocsinError as exc:
                if isinstance(exc, Invalid) and exc.field in self.fields:
                    self.add_error(exc.field, exc.detail)
                else:
                    self.add_error(None, exc.message)

    return ThroughService


class ServiceWriteAdmin(admin.ModelAdmin):
    """Saves through the app's services.

    Subclasses implement `write(request, current, data, changed)`: `current` is the object
    as stored (None when adding), `data` the form's cleaned data, `changed` the names of
    the fields the form changed; it calls the services, with `admin_actor(request)` as the
    actor (so the audit log names the person signed in), and returns the saved object. It
    runs while the form is validated, inside a transaction, so a service's refusal
    (Invalid, Conflict, …) becomes a form error and nothing is written; the rows of a
    list page's editable columns (`list_editable`) go through `write` the same way, all
    or none. Deleting is refused: Tocsin deactivates, it does not delete.
    """

    def write(
        self, request: HttpRequest, current: Any, data: dict[str, Any], changed: list[str]
    ) -> models.Model:
        raise NotImplementedError

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> type[ModelForm]:
        base = super().get_form(request, obj, change=change, **kwargs)
        return _through_service(base, self, request, change=change)

    def get_changelist_form(self, request: HttpRequest, **kwargs: Any) -> type[ModelForm]:
        base = super().get_changelist_form(request, **kwargs)
        return _through_service(base, self, request, change=True)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # The rows were written while the formset was validated: if any row was refused,
        # the page shows the errors and none of the rows is kept.
        with transaction.atomic():
            response = super().changelist_view(request, extra_context)
            context = getattr(response, "context_data", None) or {}
            formset = getattr(context.get("cl"), "formset", None)
            if request.method == "POST" and formset is not None and not formset.is_valid():
                transaction.set_rollback(True)
        return response

    def save_form(self, request: HttpRequest, form: Any, change: bool) -> Any:
        return form.instance  # already saved by the service while the form was validated

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        pass  # saved by `write`

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        pass  # many-to-many fields too are saved by `write`


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    """The audit log is append-only: written by the services, never edited."""

    note = "Read-only: the audit log is written by Tocsin's services and never edited."
    list_display = ("at", "actor_label", "action", "object_type", "object_label", "ip")
    list_filter = ("action", "object_type", "actor_kind")
    search_fields = ("object_label", "actor_label", "request_id")


# Tocsin's own bookkeeping: shown so an administrator can look, never added or edited here
# (ReadOnlyAdmin keeps them out of the admin's "Add" links).


@admin.register(Lease)
class LeaseAdmin(ReadOnlyAdmin):
    note = "Read-only: leases the worker takes and renews; one nobody renews frees itself."
    list_display = ("name", "holder", "lease_until")
    search_fields = ("name", "holder")


@admin.register(Counter)
class CounterAdmin(ReadOnlyAdmin):
    note = "Read-only: numbers Tocsin hands out once each (incident numbers)."
    list_display = ("name", "value")


@admin.register(SignInThrottle)
class SignInThrottleAdmin(ReadOnlyAdmin):
    note = "Read-only: failed sign-ins per name and address, and the pause they earned."
    list_display = ("scope", "key", "failures", "last_failure_at", "locked_until")
    list_filter = ("scope",)
    search_fields = ("key",)


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdmin):
    note = "Read-only: first answers to API creates with an Idempotency-Key, kept 24 hours."
    list_display = ("created_at", "owner", "method", "path", "status_code")
    search_fields = ("owner", "key")
