"""Forms of the postmortem pages (the services check every rule again)."""

from __future__ import annotations

from django import forms

from tocsin.accounts.models import User
from tocsin.accounts.permissions import Action, people_who_may
from tocsin.catalog.models import Service
from tocsin.incidents.models import Priority
from tocsin.learning import postmortems
from tocsin.learning.models import PostmortemStatus, PostmortemTemplate
from tocsin.learning.postmortem_draft import TEMPLATE_MAX

PRIORITY_CHOICES = [(str(p.value), p.label) for p in Priority]


def _display_name(user: User) -> str:
    return str(user.display_name)


class PostmortemForm(forms.Form):
    title = forms.CharField(max_length=postmortems.TITLE_MAX)
    owner = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, empty_label="Nobody yet"
    )
    due_at = forms.DateTimeField(
        label="Due",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
    )
    markdown = forms.CharField(
        label="Document (Markdown)",
        required=False,
        max_length=postmortems.MARKDOWN_MAX,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 28, "class": "pm-editor", "spellcheck": "true"}),
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        field = self.fields["owner"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = people_who_may(Action.POSTMORTEM_EDIT).order_by("name", "username")
        field.label_from_instance = _display_name  # type: ignore[method-assign,assignment]


class CommentForm(forms.Form):
    body = forms.CharField(
        label="Comment",
        max_length=postmortems.COMMENT_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Markdown.",
    )


class FilterForm(forms.Form):
    status = forms.ChoiceField(choices=[("", "Any"), *PostmortemStatus.choices], required=False)
    owner = forms.ChoiceField(
        choices=[("", "Anyone"), ("me", "Me"), ("none", "Nobody")], required=False
    )
    overdue = forms.ChoiceField(
        choices=[("", "Any"), ("yes", "Overdue"), ("no", "Not overdue")], required=False
    )


class SettingsForm(forms.Form):
    required_priorities = forms.MultipleChoiceField(
        label="Required for",
        choices=PRIORITY_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="A draft is written when an incident of these priorities is resolved.",
    )
    due_days = forms.IntegerField(
        label="Due after (days)", min_value=1, max_value=postmortems.DUE_DAYS_MAX
    )
    default_template = forms.ModelChoiceField(
        queryset=PostmortemTemplate.objects.filter(archived_at__isnull=True),
        required=False,
        empty_label="The first one",
    )


class ServiceRuleForm(forms.Form):
    service = forms.ModelChoiceField(queryset=Service.objects.order_by("name"))
    required_priorities = forms.MultipleChoiceField(
        label="Required for",
        choices=PRIORITY_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: never required for this service.",
    )


class TemplateForm(forms.Form):
    name = forms.CharField(max_length=postmortems.NAME_MAX)
    body = forms.CharField(
        label="Text (Markdown with placeholders)",
        max_length=TEMPLATE_MAX,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 24, "class": "pm-editor"}),
    )
    archived = forms.BooleanField(required=False)
