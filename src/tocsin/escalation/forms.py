"""The escalation policy editor's forms: the policy's own fields, then its levels, each
with its targets — repeated fields named ``level-<i>-<field>`` and ``level-<i>-t-<j>``,
counted by hidden fields, so the page works without JavaScript (add, remove and move are
submit buttons that re-render the page).

The forms check only shape (required, whole numbers). `levels_json` turns them into the
API's level JSON, which `policies.parse_levels` checks (one set of rules for both);
`apply_invalid` puts its refusal (``levels[1].targets[0].id``) on the field.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.utils.datastructures import MultiValueDict

from tocsin.accounts.models import Team
from tocsin.core.editor_summary import EditorSummary
from tocsin.core.errors import Invalid
from tocsin.core.web import sentence
from tocsin.escalation import selectors
from tocsin.escalation.models import (
    DELAY_MAX_MINUTES,
    LEVELS_MAX,
    REPEAT_MAX,
    TARGETS_MAX,
    EscalationPolicy,
    LevelMode,
)

NO_TEAM = ""
MODE_CHOICES = [(LevelMode.ALL, "Page every target"), (LevelMode.ROUND_ROBIN, "Round-robin")]


class PolicyForm(forms.Form):
    name = forms.CharField(label="Name", max_length=100)
    team = forms.ChoiceField(label="Owning team", required=False)
    repeat = forms.IntegerField(
        label="Repeat the whole policy",
        min_value=0,
        max_value=REPEAT_MAX,
        help_text=f"More passes after the first when nobody acknowledges (0–{REPEAT_MAX}).",
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    description = forms.CharField(
        label="Description",
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, user: Any, current_team: Team | None = None, **kw: Any):
        super().__init__(*args, **kw)
        teams = selectors.owning_teams(user, current_team)
        choices: list[tuple[str, str]] = [(str(t.pk), t.name) for t in teams]
        team = self.fields["team"]
        assert isinstance(team, forms.ChoiceField)
        if selectors.may_own(user, None):
            choices.insert(0, (NO_TEAM, "No team (administrators only)"))
            team.help_text = "Its manager may edit the policy."
        else:
            team.required = True
            team.help_text = "One of the teams you manage; its manager edits the policy."
        team.choices = choices
        self.teams = {str(t.pk): t for t in teams}

    def team_object(self) -> Team | None:
        return self.teams.get(self.cleaned_data.get("team") or NO_TEAM)


class LevelForm(forms.Form):
    delay_minutes = forms.IntegerField(
        label="Minutes before the next level",
        min_value=1,
        max_value=DELAY_MAX_MINUTES,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "class": "pol-delay"}),
    )
    mode = forms.ChoiceField(label="Whom to page", choices=MODE_CHOICES)


class TargetField(forms.ChoiceField):
    """One target: "user:ann", "schedule:3" or "team:2" (grouped choices)."""


@dataclass
class TargetRow:
    index: int
    name: str  # the field's name, "level-0-t-1"
    value: str
    label: str = ""
    now: str = ""
    problem: str = ""
    errors: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return f"id_{self.name}"


@dataclass
class LevelBlock:
    index: int
    form: LevelForm
    targets: list[TargetRow] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def number(self) -> int:
        return self.index + 1

    @property
    def anchor(self) -> str:
        return f"level-{self.index}"


def _count(data: Mapping[str, Any], key: str, limit: int) -> int:
    try:
        return max(0, min(int(data.get(key, 0)), limit))
    except (TypeError, ValueError):
        return 0


def _initial_level() -> dict[str, Any]:
    return {"delay_minutes": 15, "mode": LevelMode.ALL}


_FIELD = re.compile(
    r"^levels(?:\[(?P<level>\d+)\](?:\.(?P<part>\w+)(?:\[(?P<index>\d+)\])?(?:\.(?P<sub>\w+))?)?)?$"
)


class PolicyEditor(EditorSummary):
    """The whole editor: `PolicyForm` plus the level blocks. Answers the shared error
    summary as one form would (`errors`, `fields`, `non_field_errors()`, `editor[key]`)."""

    def __init__(
        self,
        *,
        user: Any,
        data: MultiValueDict[str, Any] | None = None,
        policy: EscalationPolicy | None = None,
        levels: list[tuple[dict[str, Any], list[str]]] | None = None,
    ) -> None:
        self.user = user
        self.general: list[str] = []
        initial: dict[str, Any] = {"repeat": 0}
        if policy is not None:
            initial = {
                "name": policy.name,
                "description": policy.description,
                "repeat": policy.repeat,
                "team": str(policy.team_id or NO_TEAM),
            }
        current = policy.team if policy is not None else None
        self.policy_form = PolicyForm(data, user=user, current_team=current, initial=initial)
        self.blocks: list[LevelBlock] = []
        if data is not None:
            for i in range(_count(data, "levels", LEVELS_MAX)):
                block = LevelBlock(i, LevelForm(data, prefix=f"level-{i}"))
                for j in range(_count(data, f"level-{i}-targets", TARGETS_MAX)):
                    name = f"level-{i}-t-{j}"
                    block.targets.append(TargetRow(j, name, str(data.get(name, ""))[:200]))
                self.blocks.append(block)
        else:
            rows = levels if levels is not None else [(_initial_level(), [""])]
            self.rebuild(rows)

    # --- building ---------------------------------------------------------------------

    def rebuild(self, levels: list[tuple[dict[str, Any], list[str]]]) -> None:
        """Unbound level forms holding `levels` (values as submitted or saved)."""
        self.blocks = []
        for i, (values, targets) in enumerate(levels):
            block = LevelBlock(i, LevelForm(prefix=f"level-{i}", initial=values))
            for j, key in enumerate(targets):
                block.targets.append(TargetRow(j, f"level-{i}-t-{j}", key))
            self.blocks.append(block)

    def raw_levels(self) -> list[tuple[dict[str, Any], list[str]]]:
        """The levels as submitted (uncleaned), for `rebuild`."""
        return [
            (
                {name: block.form[name].value() for name in block.form.fields},
                [row.value for row in block.targets],
            )
            for block in self.blocks
        ]

    def rebind_policy_form(self) -> None:
        """The policy's fields as sent, without errors (after an add/remove/move)."""
        form = self.policy_form
        self.policy_form = PolicyForm(
            user=self.user,
            current_team=None,
            initial={name: form[name].value() for name in form.fields},
        )
        self.policy_form.teams |= form.teams
        team = self.policy_form.fields["team"]
        assert isinstance(team, forms.ChoiceField)
        team.choices = form.fields["team"].choices  # type: ignore[attr-defined]

    # --- checking ---------------------------------------------------------------------

    def shape_ok(self) -> bool:
        ok = self.policy_form.is_valid()
        for block in self.blocks:
            ok = block.form.is_valid() and ok
            for row in block.targets:
                if not row.value:
                    row.errors.append("Choose a person, schedule or team.")
                    ok = False
            if not block.targets:
                block.errors.append(f"Level {block.number}: add at least one target.")
                ok = False
        if not self.blocks:
            self.general.append("Add at least one level.")
            ok = False
        return ok

    def levels_json(self) -> list[dict[str, Any]]:
        """The API's level JSON (what `policies.parse_levels` takes), from valid forms."""
        out = []
        for block in self.blocks:
            data = block.form.cleaned_data
            targets = []
            for row in block.targets:
                kind, _, ident = row.value.partition(":")
                value: Any = ident
                if kind in ("schedule", "team"):
                    value = (
                        int(ident)
                        if ident.isascii() and ident.isdigit() and len(ident) < 16
                        else ident
                    )
                targets.append({"type": kind, "id": value})
            out.append(
                {"delay_minutes": data["delay_minutes"], "mode": data["mode"], "targets": targets}
            )
        return out

    def apply_invalid(self, exc: Invalid) -> None:
        """Show a refusal from policies.py on the field it names."""
        where = exc.field or ""
        if where in self.policy_form.fields:
            label = str(self.policy_form.fields[where].label)
            _add(self.policy_form, where, sentence(exc.detail, label))
            return
        match = _FIELD.match(where)
        if match is None or match["level"] is None or int(match["level"]) >= len(self.blocks):
            self.general.append(sentence(exc.message))
            return
        block = self.blocks[int(match["level"])]
        part, index = match["part"], match["index"]
        if part == "targets" and index is not None and int(index) < len(block.targets):
            block.targets[int(index)].errors.append(sentence(exc.detail))
        elif part in ("delay_minutes", "mode"):
            _add(block.form, part, sentence(exc.detail))
        else:
            block.errors.append(f"Level {block.number}: " + sentence(exc.detail))

    # --- the error summary's view ---------------------------------------------------

    def _forms(self) -> Iterator[tuple[str, forms.Form]]:
        yield "", self.policy_form
        for block in self.blocks:
            yield f"Level {block.number}: ", block.form

    def _block_errors(self) -> list[str]:
        return [e for b in self.blocks for e in b.errors]

    def _extra_errors(self) -> dict[str, list[str]]:
        return {row.name: row.errors for b in self.blocks for row in b.targets if row.errors}

    def _extra_field(self, key: str) -> Any | None:
        for block in self.blocks:
            for row in block.targets:
                if row.name == key:
                    return _TargetLabel(row, f"Level {block.number}: target {row.index + 1}")
        return None


class _TargetLabel:
    """A target row as the error summary reads a field."""

    def __init__(self, row: TargetRow, label: str) -> None:
        self.label = label
        self.errors = row.errors
        self.auto_id = row.id
        self.id_for_label = row.id
        self.field = forms.CharField()
        self.widget_type = "select"


def _add(form: forms.Form, name: str, message: str) -> None:
    if form.is_bound and not hasattr(form, "cleaned_data"):
        form.is_valid()
    form.add_error(name, message)
