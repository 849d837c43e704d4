"""War-room link templates of a service (issue 11): a chat channel and a video bridge
address with variables, e.g. ``https://chat.example.com/incident-{number}``, filled in when
an incident is filed on the service.

Variables: ``{number}`` (42), ``{ref}`` (INC-42) and ``{service}`` (the service's name as
a slug, "payments-api"). Only http and https addresses are accepted, both for templates
and for the links stored on an incident.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils.text import slugify

from tocsin.core.errors import Invalid

URL_MAX = 500
TEMPLATE_FIELDS = ("chat_url_template", "video_url_template")
VARIABLES = ("number", "ref", "service")
_BRACES = re.compile(r"\{([^{}]*)\}")
_URL = URLValidator(schemes=["http", "https"])
# What a template is checked with: the longest plausible values of each variable.
_SAMPLE = {"number": "1234567", "ref": "INC-1234567", "service": "a-service"}


def clean_url(field: str, value: object) -> str:
    """An http(s) address (or "" to clear), stripped; Invalid naming `field` otherwise."""
    if not isinstance(value, str):
        raise Invalid(field, "must be a string")
    text = value.strip()
    if not text:
        return ""
    if len(text) > URL_MAX:
        raise Invalid(field, f"must be at most {URL_MAX} characters")
    if not text.lower().startswith(("http://", "https://")):
        raise Invalid(field, "must be an http:// or https:// address")
    try:
        _URL(text)
    except ValidationError:
        raise Invalid(field, "is not a valid http(s) address") from None
    return text


def clean_template(field: str, value: object) -> str:
    """A link template (or "" for none): http(s), known variables only, balanced braces."""
    if not isinstance(value, str):
        raise Invalid(field, "must be a string")
    text = value.strip()
    if not text:
        return ""
    if len(text) > URL_MAX:
        raise Invalid(field, f"must be at most {URL_MAX} characters")
    for name in _BRACES.findall(text):
        if name not in VARIABLES:
            known = ", ".join("{" + v + "}" for v in VARIABLES)
            raise Invalid(field, f"unknown variable {{{name}}}: use {known}")
    if "{" in _BRACES.sub("", text) or "}" in _BRACES.sub("", text):
        raise Invalid(field, "has an unmatched { or }")
    clean_url(field, _BRACES.sub(lambda m: _SAMPLE[m.group(1)], text))
    return text


def fill(template: str, *, number: int, service_name: str) -> str:
    """The link a template gives for incident `number` on a service ("" when the template
    is empty or the result is not a usable address)."""
    if not template:
        return ""
    values = {"number": str(number), "ref": f"INC-{number}", "service": slugify(service_name)}
    url = _BRACES.sub(lambda m: values.get(m.group(1), m.group(0)), template)
    try:
        return clean_url("url", url)
    except Invalid:
        return ""
