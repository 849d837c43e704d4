"""What the learning app hooks into the apps below it at start-up (one call per
feature, each owned by the module that implements it)."""

from __future__ import annotations


def register() -> None:
    # Each feature adds one line here: its module's register() appends its incident
    # hooks (tocsin.incidents.hooks) and incident page sections.
    from tocsin.learning import similar

    similar.register()  # similar incidents: search documents kept in step, page section
