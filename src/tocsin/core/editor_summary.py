"""The error summary of an editor made of several forms (the schedule editor, the
escalation policy editor): one dict of errors by field name, and fields with a label long
enough to stand alone in the summary ("Level 2: Minutes before the next level").

An editor subclasses `EditorSummary`, keeps its page-wide messages in `general`, and
says which forms it is made of (`_forms`); it may add errors and fields that are not
form fields (`_block_errors`, `_extra_errors`, `_extra_field`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS


class Labelled:
    """A bound field with a longer label, as the error summary shows it."""

    def __init__(self, bound: forms.BoundField, label: str) -> None:
        self._bound = bound
        self.label = label

    def __getattr__(self, name: str) -> Any:
        return getattr(self._bound, name)


class EditorSummary:
    general: list[str]

    def _forms(self) -> Iterator[tuple[str, forms.Form]]:
        """Each form with the title its fields' labels take ("Level 2: ")."""
        raise NotImplementedError

    def _block_errors(self) -> list[str]:
        """Errors about a part of the editor rather than one field."""
        return []

    def _extra_errors(self) -> dict[str, list[str]]:
        """Errors of inputs that are not form fields, by input name."""
        return {}

    def _extra_field(self, key: str) -> Any | None:
        """The summary's view of such an input, or None."""
        return None

    @property
    def errors(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        general = self.general + self._block_errors()
        if general:
            out[NON_FIELD_ERRORS] = general
        for _title, form in self._forms():
            if not form.is_bound:
                continue
            for name, messages in form.errors.items():
                if name != NON_FIELD_ERRORS:
                    out[form.add_prefix(name)] = [str(m) for m in messages]
        out.update(self._extra_errors())
        return out

    @property
    def fields(self) -> dict[str, Any]:
        return {key: self[key] for key in self.errors if key != NON_FIELD_ERRORS}

    def non_field_errors(self) -> list[str]:
        return self.errors.get(NON_FIELD_ERRORS, [])

    def __getitem__(self, key: str) -> Any:
        for title, form in self._forms():
            for name in form.fields:
                if form.add_prefix(name) == key:
                    return Labelled(form[name], f"{title}{form.fields[name].label}")
        extra = self._extra_field(key)
        if extra is not None:
            return extra
        raise KeyError(key)
