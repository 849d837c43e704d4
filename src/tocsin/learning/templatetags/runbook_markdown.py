"""`{{ text|markdown }}` for the runbook templates: tocsin.learning.markdown.render (the one
way Markdown becomes HTML: raw HTML off, nh3-cleaned)."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString

from tocsin.learning.markdown import render

register = template.Library()


@register.filter(name="markdown")
def markdown(text: str) -> SafeString:
    return render(str(text or ""))
