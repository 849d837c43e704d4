"""Shared set-up for the postmortem tests (issue 12, point 1)."""

from __future__ import annotations

from tocsin.learning.models import PostmortemSettings, PostmortemTemplate
from tocsin.learning.postmortem_draft import DEFAULT_TEMPLATE, DEFAULT_TEMPLATE_NAME


def seeded() -> PostmortemTemplate:
    """The rows the learning migration seeds (the blameless template, the settings row
    pointing at it): a live-server or transactional test earlier in the run flushed every
    table."""
    template, _ = PostmortemTemplate.objects.get_or_create(
        name=DEFAULT_TEMPLATE_NAME, defaults={"body": DEFAULT_TEMPLATE}
    )
    PostmortemSettings.objects.get_or_create(pk=1, defaults={"default_template": template})
    return template
