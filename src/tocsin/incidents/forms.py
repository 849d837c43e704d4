"""Forms of the incident pages: they parse input; the services decide what is allowed."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from tocsin.accounts.models import HANDOFF_TEMPLATE_DEFAULT, Team, User
from tocsin.accounts.permissions import Action, people_who_may
from tocsin.catalog.models import Service
from tocsin.catalog.selectors import category_tree, service_list
from tocsin.core.errors import Invalid
from tocsin.core.widgets import PickerCheckboxes, PickerSelect
from tocsin.incidents.models import Level, Priority, ResolutionCode, Source, Status
from tocsin.incidents.services.notes import attachment_type, upload_accept

IMPACT_HELP = {
    1: "Whole organisation or many customers",
    2: "A department, a site or a group of customers",
    3: "A few people or one team",
    4: "One person, workaround exists",
}
URGENCY_HELP = {
    1: "Work has stopped",
    2: "Work is seriously slowed down",
    3: "Work is inconvenienced",
    4: "Can wait",
}
HIGHER_NUDGE = "When unsure between two levels, pick the higher one."


def _level_choices(help_texts: dict[int, str]) -> list[tuple[int, str]]:
    return [(value, f"{label} — {help_texts[value]}") for value, label in Level.choices]


def staff_people() -> Any:
    return people_who_may(Action.INCIDENT_BE_ASSIGNED).order_by("name", "username")


def person_meta(user: User) -> str:
    """What the people picker shows under "Name (username)" and also searches: teams, and
    on-call status once schedules exist (`on_call_now`, set by whoever knows it)."""
    parts = [team.name for team in user.teams.all()]
    on_call = getattr(user, "on_call_now", None)
    if on_call:
        parts.append("on call now")
    return " · ".join(parts)


def _person_picker(placeholder: str = "Type a name, username or team") -> PickerSelect:
    return PickerSelect(meta=person_meta, placeholder=placeholder)


def _service_picker() -> PickerSelect:
    return PickerSelect(placeholder="Type a service name")


def _model_choices(field: forms.Field) -> forms.ModelChoiceField[Any]:
    """A declared ModelChoiceField, typed as one (form.fields is typed as plain Fields)."""
    return cast("forms.ModelChoiceField[Any]", field)


def _choices(field: forms.Field) -> forms.ChoiceField:
    return cast(forms.ChoiceField, field)


class PersonChoiceField(forms.ModelChoiceField):
    """A person, chosen with the shared people picker (a plain select without JS)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", _person_picker())
        super().__init__(*args, **kwargs)

    def label_from_instance(self, obj: User) -> str:
        return f"{obj.display_name} ({obj.username})"


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; each checked against the size limit and the types.

    The input carries the accepted types (`accept`, a hint for the picker) and the size
    limit; uploads.js uses them to drop a refused file from the choice before sending,
    keeping the others."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault(
            "widget",
            MultipleFileInput(
                attrs={
                    "accept": upload_accept(),
                    "data-upload-check": "",
                    "data-max-bytes": str(settings.TOCSIN_ATTACHMENT_MAX_BYTES),
                }
            ),
        )
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        single = super().clean
        if isinstance(data, (list, tuple)):
            files = [single(item, initial) for item in data if item]
        else:
            files = [single(data, initial)] if data else []
        return [f for f in files if f]


def check_uploads(files: list[UploadedFile]) -> None:
    """Size and type of every file, before anything is written: the error names each
    refused file and why, and which of the chosen files were fine."""
    limit = settings.TOCSIN_ATTACHMENT_MAX_BYTES
    refused: list[str] = []
    fine: list[str] = []
    for upload in files:
        if upload.size is not None and upload.size > limit:
            refused.append(
                f"{upload.name} is larger than the limit of {limit // (1024 * 1024)} MB."
            )
            continue
        if not upload.size:
            refused.append(f"{upload.name} is empty.")
            continue
        try:
            attachment_type(upload)
        except Invalid as exc:
            refused.append(exc.detail)
            continue
        fine.append(str(upload.name))
    if refused:
        errors = [forms.ValidationError(message) for message in refused]
        if fine:
            errors.append(
                forms.ValidationError(
                    "These files were fine; choose them again with this form: " + ", ".join(fine)
                )
            )
        raise forms.ValidationError(errors)


class CategoryFields(forms.Form):
    """Category and subcategory: subcategories grouped by category, checked together."""

    category = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    subcategory = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        tree = category_tree()
        self._categories = {top.pk: top for top, _ in tree}
        self._subcategories = {child.pk: child for _, children in tree for child in children}
        _choices(self.fields["category"]).choices = [
            ("", "—"),
            *((top.pk, top.name) for top, _ in tree),
        ]
        _choices(self.fields["subcategory"]).choices = [
            ("", "—"),
            *(
                (top.name, [(child.pk, child.name) for child in children])
                for top, children in tree
                if children
            ),
        ]

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        category_id = data.get("category")
        subcategory_id = data.get("subcategory")
        category = self._categories.get(category_id) if category_id else None
        subcategory = self._subcategories.get(subcategory_id) if subcategory_id else None
        if subcategory is not None and (category is None or subcategory.parent_id != category.pk):
            self.add_error(
                "subcategory",
                f"“{subcategory.name}” belongs to {subcategory.parent.name if subcategory.parent else '—'}"  # noqa: E501
                ", not to the chosen category.",
            )
        data["category"] = category
        data["subcategory"] = subcategory
        return data


class LevelFields(forms.Form):
    impact = forms.TypedChoiceField(
        coerce=int,
        choices=_level_choices(IMPACT_HELP),
        widget=forms.RadioSelect,
        initial=Level.MEDIUM,
        help_text="How widely is the disruption felt?",
    )
    urgency = forms.TypedChoiceField(
        coerce=int,
        choices=_level_choices(URGENCY_HELP),
        widget=forms.RadioSelect,
        initial=Level.MEDIUM,
        help_text="How quickly does it need fixing?",
    )


class IncidentCreateForm(CategoryFields, LevelFields):
    """Staff log an incident (phone, chat, email…)."""

    field_order = [
        "title",
        "description",
        "source",
        "reporter",
        "reporter_name",
        "reporter_email",
        "service",
        "affected_services",
        "category",
        "subcategory",
        "impact",
        "urgency",
        "assignee",
        "team",
        "attachments",
    ]

    title = forms.CharField(max_length=200)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), required=False)
    source = forms.ChoiceField(choices=Source.choices, initial=Source.PHONE)
    reporter = PersonChoiceField(
        queryset=User.objects.none(),
        required=False,
        empty_label="— Me, or someone outside (below) —",
        help_text="The person who reported it.",
    )
    reporter_name = forms.CharField(max_length=150, required=False, label="Or name")
    reporter_email = forms.EmailField(required=False, label="and email")
    service = forms.ModelChoiceField(
        queryset=Service.objects.none(), required=False, empty_label="—", widget=_service_picker()
    )
    affected_services = forms.ModelMultipleChoiceField(
        queryset=Service.objects.none(),
        required=False,
        widget=PickerCheckboxes(),
        help_text="Other services hit by the same disruption.",
    )
    assignee = PersonChoiceField(
        queryset=User.objects.none(), required=False, empty_label="— Unassigned —"
    )
    team = forms.ModelChoiceField(
        queryset=Team.objects.none(), required=False, empty_label="— No team —"
    )
    attachments = MultipleFileField(help_text="Screenshots or logs; you can pick several files.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _model_choices(self.fields["reporter"]).queryset = (
            User.objects.filter(is_active=True)
            .order_by("name", "username")
            .prefetch_related("teams")
        )
        _model_choices(self.fields["service"]).queryset = service_list().filter(is_active=True)
        _model_choices(self.fields["affected_services"]).queryset = service_list().filter(
            is_active=True
        )
        _model_choices(self.fields["assignee"]).queryset = staff_people().prefetch_related("teams")
        _model_choices(self.fields["team"]).queryset = Team.objects.order_by("name")

    def clean_attachments(self) -> list[UploadedFile]:
        files = self.cleaned_data.get("attachments") or []
        check_uploads(files)
        return files

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("reporter") and (data.get("reporter_name") or data.get("reporter_email")):
            self.add_error("reporter_name", "Pick a person or give a name and email, not both.")
        return data


class PortalReportForm(forms.Form):
    """A reporter's own report."""

    title = forms.CharField(max_length=200, label="What is wrong?")
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}),
        required=False,
        label="Details",
        help_text="What you were doing, what you expected, what happened instead.",
    )
    service = forms.ModelChoiceField(
        queryset=Service.objects.none(),
        required=False,
        empty_label="— Not sure —",
        label="Which service?",
    )
    attachments = MultipleFileField(
        label="Screenshots or logs",
        help_text="Optional; you can pick several files: images, PDF, text and log files "
        "(.log, .txt).",
    )
    # A follow-up names the earlier incident it continues ("INC-42"); the view checks it.
    follow_up = forms.CharField(required=False, max_length=20, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _model_choices(self.fields["service"]).queryset = service_list().filter(is_active=True)

    def clean_attachments(self) -> list[UploadedFile]:
        files = self.cleaned_data.get("attachments") or []
        check_uploads(files)
        return files


STATUS_FILTER_CHOICES = [
    ("", "Open"),
    *Status.choices,
    ("all", "Any status"),
]


class TriageForm(CategoryFields, LevelFields):
    service = forms.ModelChoiceField(
        queryset=Service.objects.none(), required=False, empty_label="—", widget=_service_picker()
    )
    priority = forms.TypedChoiceField(
        coerce=int,
        empty_value=None,
        required=False,
        choices=[("", "From the matrix"), *Priority.choices],
        label="Priority override",
    )
    priority_reason = forms.CharField(
        max_length=500, required=False, label="Reason for the override"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "triage_%s")
        super().__init__(*args, **kwargs)
        _model_choices(self.fields["service"]).queryset = service_list()
        # Radio lists are long in a side panel: the compact select reads better here.
        for name in ("impact", "urgency"):
            _choices(self.fields[name]).choices = Level.choices
            self.fields[name].widget = forms.Select(choices=Level.choices)


class AssignForm(forms.Form):
    assignee = PersonChoiceField(
        queryset=User.objects.none(), required=False, empty_label="— Unassigned —"
    )
    team = forms.ModelChoiceField(
        queryset=Team.objects.none(), required=False, empty_label="— No team —"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "assign_%s")
        super().__init__(*args, **kwargs)
        _model_choices(self.fields["assignee"]).queryset = staff_people().prefetch_related("teams")
        _model_choices(self.fields["team"]).queryset = Team.objects.order_by("name")


class EscalateForm(forms.Form):
    support_level = forms.TypedChoiceField(
        coerce=int,
        empty_value=None,
        required=False,
        choices=[("", "— Keep —"), (1, "Level 1"), (2, "Level 2"), (3, "Level 3")],
    )
    team = forms.ModelChoiceField(
        queryset=Team.objects.none(), required=False, empty_label="— Keep —"
    )
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "data-handoff-note": ""}),
        label="Hand-off note",
        initial=HANDOFF_TEMPLATE_DEFAULT,
        help_text="Starts as the receiving team's template; fill it in.",
    )

    def __init__(self, *args: Any, incident_team: Team | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "escalate_%s")
        super().__init__(*args, **kwargs)
        teams = list(Team.objects.order_by("name"))
        _model_choices(self.fields["team"]).queryset = Team.objects.order_by("name")
        # each team's template, for the page's script to swap in when the team changes
        # (without JavaScript the note starts as the incident's team's template)
        self.handoff_templates = {"": HANDOFF_TEMPLATE_DEFAULT} | {
            str(t.pk): t.handoff_template or HANDOFF_TEMPLATE_DEFAULT for t in teams
        }
        if incident_team is not None and incident_team.handoff_template:
            self.fields["note"].initial = incident_team.handoff_template


class MergeForm(forms.Form):
    into = forms.CharField(max_length=20, label="Duplicate of", help_text="e.g. INC-42")
    note = forms.CharField(required=False, max_length=2000)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "merge_%s")
        super().__init__(*args, **kwargs)


class ActionForm(forms.Form):
    """A lifecycle action; resolve needs a code and notes, close takes them optionally."""

    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    resolution_code = forms.ChoiceField(
        choices=[("", "—"), *ResolutionCode.choices], required=False
    )
    resolution_notes = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, label="Resolution notes"
    )

    def __init__(self, *args: Any, action: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.action = action
        if action == "resolve":
            self.fields["resolution_code"].required = True
            self.fields["resolution_notes"].required = True


class NoteForm(forms.Form):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="Note", max_length=20000)
    make_public = forms.BooleanField(
        required=False,
        label="Make public",
        help_text="Public notes are visible to the reporter.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "note_%s")
        super().__init__(*args, **kwargs)


class AttachmentForm(forms.Form):
    # The metaclass takes declared fields off the class, so BaseForm.files (the uploads)
    # is not shadowed at run time; only the type checker sees a clash.
    files = MultipleFileField(label="Files", required=True)  # type: ignore[assignment]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "attach_%s")
        super().__init__(*args, **kwargs)

    def clean_files(self) -> list[UploadedFile]:
        files = self.cleaned_data.get("files") or []
        if not files:
            raise forms.ValidationError("Choose at least one file.")
        check_uploads(files)
        return files


class ConfirmForm(forms.Form):
    accept = forms.TypedChoiceField(
        coerce=lambda value: value == "yes",
        choices=[("yes", "Yes, close it"), ("no", "No, reopen")],
    )
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        label="What is still wrong?",
        max_length=20000,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "confirm_%s")
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("accept") is False and not (data.get("note") or "").strip():
            self.add_error("note", "Tell us what is still wrong so we can reopen it.")
        return data
