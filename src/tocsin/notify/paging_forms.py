"""Forms of the paging profile page (notify/paging_views.py): contact methods (adding and
removing ask for the password again), notification rules (plain rows, no JS needed) and
paging preferences."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.http import QueryDict

from tocsin.accounts.models import ContactKind, ContactMethod
from tocsin.accounts.services import HANDOFF_NOTICE_MAX, RULE_MAX_DELAY, RULES_MAX

ADDRESS_HELP = (
    "Email: an address. SMS and voice: an international number, e.g. +441632960000. "
    "Slack, Teams, webhook: the https URL the service gave you. ntfy: a topic URL, e.g. "
    "https://ntfy.sh/your-topic. Apprise: an Apprise URL, e.g. tgram://bot-token/chat-id."
)


class PasswordField(forms.CharField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", "Your password")
        kwargs.setdefault("help_text", "Changing how you are paged asks for your password again.")
        super().__init__(
            strip=False,
            max_length=4096,
            widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
            **kwargs,
        )


class ContactAddForm(forms.Form):
    kind = forms.ChoiceField(choices=ContactKind.choices, label="Kind")
    address = forms.CharField(
        max_length=2000,
        label="Address",
        help_text=ADDRESS_HELP,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    label = forms.CharField(
        max_length=100,
        required=False,
        label="Label",
        help_text="A name you will recognise, e.g. “Work phone”.",
    )
    password = PasswordField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "add")
        super().__init__(*args, **kwargs)


class ContactRemoveForm(forms.Form):
    password = PasswordField(help_text="")


class PreferencesForm(forms.Form):
    handoff_notice_minutes = forms.IntegerField(
        min_value=0,
        max_value=HANDOFF_NOTICE_MAX,
        label="Hand-off notice (minutes before a shift)",
        help_text="“You are on call from …” this long before each of your shifts; 0: no notice.",
    )
    low_urgency_working_hours = forms.BooleanField(
        required=False,
        label="Low-urgency pages wait for my working hours",
        help_text="Monday to Friday, 09:00–17:00 in your time zone. High urgency never waits.",
    )


# --- notification rules: rows of (method, delay) --------------------------------------------


@dataclass
class RuleRow:
    method: str = ""  # a contact method's id as text, "" for an empty row
    delay: str = ""
    error: str = ""


@dataclass
class RulesForm:
    """One urgency's rows as posted (`method` and `delay`, repeated, in order): rows with
    no method are dropped; the rest become the service's items."""

    urgency: str
    rows: list[RuleRow] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    items: list[dict[str, int]] = field(default_factory=list)
    # items[i] came from rows[positions[i]]
    positions: list[int] = field(default_factory=list)

    @classmethod
    def from_post(cls, urgency: str, data: QueryDict, methods: list[ContactMethod]) -> RulesForm:
        form = cls(urgency=urgency)
        chosen = data.getlist("method")
        delays = data.getlist("delay")
        if len(chosen) > RULES_MAX + 10 or len(delays) > RULES_MAX + 10:
            form.errors.append(f"At most {RULES_MAX} rules.")
            return form
        known = {str(m.pk) for m in methods}
        for index in range(max(len(chosen), len(delays))):
            method = chosen[index].strip() if index < len(chosen) else ""
            delay = delays[index].strip() if index < len(delays) else ""
            row = RuleRow(method=method, delay=delay)
            form.rows.append(row)
            if not method:
                continue
            if method not in known:
                row.error = "Choose one of your contact methods."
            else:
                try:
                    minutes = int(delay or "0")
                except ValueError:
                    minutes = -1
                if not 0 <= minutes <= RULE_MAX_DELAY:
                    row.error = f"Enter whole minutes, 0 to {RULE_MAX_DELAY}."
                else:
                    form.items.append({"contact_method": int(method), "delay_minutes": minutes})
                    form.positions.append(index)
            if row.error:
                form.errors.append(f"Row {index + 1}: {row.error}")
        return form

    def row_error(self, item_index: int, message: str) -> None:
        """A service's error about items[item_index], shown on its row."""
        position = self.positions[item_index] if item_index < len(self.positions) else None
        if position is None:
            self.errors.append(message)
            return
        self.rows[position].error = message
        self.errors.append(f"Row {position + 1}: {message}")

    def is_valid(self) -> bool:
        return not self.errors
