"""What the learning app hooks into the apps below it at start-up (one call per
feature, each owned by the module that implements it).

The order is the order of the incident page's sections: what helps triage first (known
errors, similar incidents, runbooks, articles), then what the incident leaves behind
(action items, the postmortem)."""

from __future__ import annotations


def register() -> None:
    from tocsin.learning import (
        action_item_views,
        article_views,
        postmortems,
        problem_views,
        runbooks,
        similar,
    )

    problem_views.register()  # problems and known errors: the matching known errors
    similar.register()  # similar incidents: search documents kept in step, page section
    runbooks.register()  # runbooks: run on open, the outbox resolver, the section
    article_views.register()  # the knowledge base's suggestions, "this article solved it"
    action_item_views.register()  # the incident's action items, the person page's overdue
    postmortems.register()  # postmortems: drafted on resolve, the incident page's section
