"""Forms of the status-page administration (statuspage_views.py). They read input; the
services in statuspage.py check and write."""

from __future__ import annotations

from typing import Any

from django import forms

from tocsin.catalog.models import Service
from tocsin.comms import statuspage_selectors as selectors
from tocsin.comms.models import (
    Component,
    ComponentGroup,
    ComponentRule,
    ComponentStatus,
    MaintenanceStatus,
    PublicImpact,
    PublicIncidentStatus,
)
from tocsin.core.widgets import PickerCheckboxes

DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
NO_CHANGE = ""
PRIORITY_STATUSES = [c for c in ComponentStatus.choices if c[0] != ComponentStatus.MAINTENANCE]


class GroupForm(forms.Form):
    name = forms.CharField(max_length=100)
    description = forms.CharField(max_length=300, required=False)


class ComponentForm(forms.Form):
    name = forms.CharField(max_length=100)
    description = forms.CharField(max_length=300, required=False)
    group = forms.ModelChoiceField(
        queryset=ComponentGroup.objects.none(), required=False, empty_label="No group"
    )
    services = forms.ModelMultipleChoiceField(
        queryset=Service.objects.none(),
        required=False,
        widget=PickerCheckboxes(),
        help_text="The internal services behind it (never shown publicly)",
    )
    rule = forms.ChoiceField(
        choices=[
            (ComponentRule.MANUAL, "Set by hand — staff set its status"),
            (ComponentRule.DERIVED, "Derived — follows its services' open incidents"),
        ],
        widget=forms.RadioSelect,
        label="Status",
    )
    p1 = forms.ChoiceField(choices=PRIORITY_STATUSES, label="While a P1 is open")
    p2 = forms.ChoiceField(choices=PRIORITY_STATUSES, label="While a P2 is open")
    p3 = forms.ChoiceField(choices=PRIORITY_STATUSES, label="While a P3 is open")
    p4 = forms.ChoiceField(choices=PRIORITY_STATUSES, label="While a P4 is open")
    showcase = forms.BooleanField(required=False, label="Show on the public page")
    only_show_if_degraded = forms.BooleanField(
        required=False, label="Show only while not operational"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["group"].queryset = ComponentGroup.objects.filter(  # type: ignore[attr-defined]
            archived_at__isnull=True
        )
        self.fields["services"].queryset = selectors.service_choices()  # type: ignore[attr-defined]

    @staticmethod
    def initial_for(component: Component | None) -> dict[str, Any]:
        from tocsin.comms.statuspage import DEFAULT_DERIVE_MAP

        if component is None:
            mapping = DEFAULT_DERIVE_MAP
            return {
                "rule": ComponentRule.MANUAL,
                "showcase": True,
                **{f"p{k}": v for k, v in mapping.items()},
            }
        mapping = {**DEFAULT_DERIVE_MAP, **(component.derive_map or {})}
        return {
            "name": component.name,
            "description": component.description,
            "group": component.group_id,
            "services": list(component.services.values_list("pk", flat=True)),
            "rule": component.rule,
            "showcase": component.showcase,
            "only_show_if_degraded": component.only_show_if_degraded,
            **{f"p{k}": v for k, v in mapping.items()},
        }

    def changes(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "description": data["description"],
            "group": data["group"],
            "services": list(data["services"]),
            "rule": data["rule"],
            "derive_map": {str(p): data[f"p{p}"] for p in range(1, 5)},
            "showcase": data["showcase"],
            "only_show_if_degraded": data["only_show_if_degraded"],
        }


class ComponentStatusForm(forms.Form):
    status = forms.ChoiceField(choices=ComponentStatus.choices)
    reason = forms.CharField(max_length=200, required=False)


class _ComponentStatuses(forms.Form):
    """A "component statuses" part: one select per hand-set component."""

    def add_component_fields(
        self, initial: dict[int, str] | None = None, none_label: str = "Not affected"
    ) -> None:
        initial = initial or {}
        self.component_fields: list[tuple[Component, str]] = []
        for component in selectors.settable_components():
            name = f"component_{component.pk}"
            self.fields[name] = forms.ChoiceField(
                choices=[(NO_CHANGE, none_label), *ComponentStatus.choices],
                required=False,
                label=component.name,
                initial=initial.get(component.pk, NO_CHANGE),
            )
            self.component_fields.append((component, name))

    def component_statuses(self) -> dict[int, str]:
        return {
            component.pk: self.cleaned_data[name]
            for component, name in self.component_fields
            if self.cleaned_data.get(name)
        }

    def bound_component_fields(self) -> list[Any]:
        return [self[name] for _, name in self.component_fields]


class PublicIncidentForm(_ComponentStatuses):
    title = forms.CharField(
        max_length=200,
        label="Public title",
        help_text="What the public reads. Not the internal title: say what users notice, "
        "e.g. “Payments are failing for some customers”.",
    )
    impact = forms.ChoiceField(choices=PublicImpact.choices, initial=PublicImpact.MINOR)
    status = forms.ChoiceField(
        choices=[c for c in PublicIncidentStatus.choices if c[0] != PublicIncidentStatus.RESOLVED],
        initial=PublicIncidentStatus.INVESTIGATING,
    )
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=20_000,
        label="First message",
        help_text="Public. No internal names, hosts or customers.",
    )
    incidents = forms.CharField(
        required=False,
        max_length=500,
        label="Linked internal incidents",
        help_text="e.g. INC-42, INC-43 — staff only, never shown publicly",
    )

    def __init__(self, *args: Any, components: dict[int, str] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.add_component_fields(components)

    def incident_refs(self) -> list[str]:
        raw = self.cleaned_data.get("incidents", "")
        return [part for part in raw.replace(",", " ").split() if part]


class PublicUpdateForm(_ComponentStatuses):
    status = forms.ChoiceField(choices=PublicIncidentStatus.choices)
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=20_000, label="Public message"
    )

    def __init__(self, *args: Any, components: dict[int, str] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.add_component_fields(components, none_label="No change")


class LinkForm(forms.Form):
    incident = forms.CharField(max_length=30, label="Internal incident", help_text="e.g. INC-42")


class MaintenanceForm(forms.Form):
    title = forms.CharField(max_length=200, label="Public title")
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=20_000,
        required=False,
        label="Public description",
    )
    components = forms.ModelMultipleChoiceField(
        queryset=Component.objects.none(), required=False, widget=PickerCheckboxes()
    )
    scheduled_for = forms.DateTimeField(widget=DATETIME_INPUT, required=False, label="Starts")
    scheduled_until = forms.DateTimeField(widget=DATETIME_INPUT, required=False, label="Ends")
    publish = forms.BooleanField(required=False, initial=True, label="Publish now")

    def __init__(self, *args: Any, window: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["components"].queryset = selectors.component_choices()  # type: ignore[attr-defined]
        if window is not None:
            del self.fields["scheduled_for"]
            del self.fields["scheduled_until"]


class MaintenanceUpdateForm(forms.Form):
    status = forms.ChoiceField(
        choices=[("", "Keep the current status"), *MaintenanceStatus.choices], required=False
    )
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=20_000, label="Public message"
    )


class BrandingForm(forms.Form):
    name = forms.CharField(max_length=100, label="Status page name")
    intro = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), max_length=500, required=False
    )
    brand_colour = forms.CharField(
        max_length=7,
        label="Brand colour",
        widget=forms.TextInput(attrs={"type": "color"}),
        help_text="Used for links and the header; needs a 4.5:1 contrast on white (WCAG AA)",
    )
    time_zone = forms.CharField(max_length=64, help_text="e.g. Europe/Paris or UTC")
    logo = forms.FileField(
        required=False,
        help_text="PNG, JPEG, GIF or WebP, at most 512 KB",
        widget=forms.FileInput(attrs={"accept": "image/png,image/jpeg,image/gif,image/webp"}),
    )
    remove_logo = forms.BooleanField(required=False, label="Remove the logo")
