"""Shared form widgets: the searchable picker (a person, a service, several services).

Without JavaScript a picker is a plain `<select>` (one choice) or a list of checkboxes
(several); `static/tocsin/js/picker.js` turns the first into a searchable combobox and
gives the second a filter box. Each option may carry `data-meta`: words the search also
matches and the list shows under the name (a username, teams, on-call status...).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms

Meta = Callable[[Any], str]


def _meta_attrs(option: dict[str, Any], value: Any, meta: Meta | None) -> dict[str, Any]:
    instance = getattr(value, "instance", None)
    if meta is not None and instance is not None:
        option["attrs"]["data-meta"] = meta(instance)
    return option


class PickerSelect(forms.Select):
    """One choice: a `<select data-picker>` whose options carry `data-meta`."""

    def __init__(
        self, *, meta: Meta | None = None, placeholder: str = "Type to search", **kwargs: Any
    ) -> None:
        attrs = {"data-picker": "one", "data-placeholder": placeholder, **kwargs.pop("attrs", {})}
        super().__init__(attrs=attrs, **kwargs)
        self.meta = meta

    def create_option(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(*args, **kwargs)
        return _meta_attrs(option, args[1] if len(args) > 1 else kwargs.get("value"), self.meta)


class PickerCheckboxes(forms.CheckboxSelectMultiple):
    """Several choices: checkboxes in a scrolling box (class `picker-check`), with a
    filter box added by picker.js."""

    def __init__(self, *, meta: Meta | None = None, **kwargs: Any) -> None:
        attrs = {"class": "picker-check", **kwargs.pop("attrs", {})}
        super().__init__(attrs=attrs, **kwargs)
        self.meta = meta

    def create_option(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(*args, **kwargs)
        return _meta_attrs(option, args[1] if len(args) > 1 else kwargs.get("value"), self.meta)
