"""Template helpers for forms: the shared error summary and unique element ids.

`{% load tocsin_forms %}`:
- `form|error_items` — the form's errors as `{label, message, href}` for
  `tocsin/_error_summary.html` (each `href` is the id of the control to fix, or
  `anchor` for errors about the whole form);
- `field|id_prefix:"window"` — the same field with ids `window_<name>`, for two forms on
  one page that share field names.
"""

from __future__ import annotations

import copy
from typing import Any

from django import forms, template
from django.core.exceptions import NON_FIELD_ERRORS

from tocsin.core.web import sentence

register = template.Library()


def _control_id(bound: forms.BoundField) -> str:
    """The id of the control a person should land on (the first of a radio/checkbox set)."""
    auto_id = bound.auto_id
    if not auto_id:
        return ""
    if bound.widget_type in ("radioselect", "checkboxselectmultiple", "pickercheckboxes"):
        return f"{auto_id}_0"
    return str(auto_id)


@register.filter
def error_items(form: forms.Form | None, anchor: str = "") -> list[dict[str, str]]:
    if form is None or not getattr(form, "errors", None):
        return []
    items = [
        {"label": "", "message": sentence(str(message)), "href": anchor}
        for message in form.non_field_errors()
    ]
    for name in form.errors:
        if name == NON_FIELD_ERRORS or name not in form.fields:
            continue
        bound = form[name]
        for message in bound.errors:
            items.append(
                {
                    "label": str(bound.label),
                    "message": sentence(str(message)),
                    "href": _control_id(bound),
                }
            )
    return items


@register.filter
def id_prefix(bound: forms.BoundField, prefix: str) -> forms.BoundField:
    """`bound` rendered with ids `<prefix>_<name>`; names and values are unchanged."""
    form: Any = copy.copy(bound.form)
    form.auto_id = f"{prefix}_%s"
    clone = copy.copy(bound)
    clone.form = form
    return clone


@register.filter(name="sentence")
def sentence_filter(message: Any) -> str:
    return sentence(str(message))
