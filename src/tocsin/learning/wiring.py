"""What the learning app hooks into the apps below it at start-up (one call per
feature, each owned by the module that implements it)."""

from __future__ import annotations

from tocsin.learning import article_views


def register() -> None:
    # Each feature adds one line here: its module's register() appends its incident
    # hooks (tocsin.incidents.hooks) and incident page sections.
    from tocsin.learning import problem_views  # problems and known errors

    problem_views.register()
    from tocsin.learning import action_item_views

    action_item_views.register()
    article_views.register()
    from tocsin.learning import runbooks

    runbooks.register()
