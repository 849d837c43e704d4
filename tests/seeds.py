"""The rows the migrations seed, put back after every flush of the test database.

A transactional test (live server, real processes, `transactional_db`) ends with Django's
`flush`, which empties every table and then sends `post_migrate` without a migration plan.
The priority matrix, SLA targets and calendar (incidents 0002), the stakeholder-update
templates (comms 0002, in the words comms 0008 gave them) and the postmortem template
(learning 0006) are made by data migrations, so a flush leaves them gone for every later
test of that process, and which tests saw them depended on the order files ran in (and on
which xdist worker ran them).
Here they are seeded again right after each flush, as the built-in roles already are by
`incidents.apps.builtin_roles_present`. Tests only: `migrate` on a real installation never
flushes, and an administrator who deleted a seeded row keeps it deleted.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from django.db.models.signals import post_migrate

SEEDS = (
    ("tocsin.incidents.migrations.0002_defaults", "seed"),
    ("tocsin.comms.migrations.0002_updates_subscribers", "seed_templates"),
    ("tocsin.comms.migrations.0008_public_service_in_templates", "forward"),
    ("tocsin.learning.migrations.0006_postmortems", "seed"),
)


def reseed_after_flush(sender: Any, **kwargs: Any) -> None:
    # `migrate` sends a plan (its own seeds ran in it); `flush` sends none. Once a flush:
    # post_migrate goes to every app, and this answers only the last one's.
    if "plan" in kwargs or sender.label != "reports":
        return
    from django.apps import apps

    for module, name in SEEDS:
        getattr(import_module(module), name)(apps, None)


post_migrate.connect(reseed_after_flush, dispatch_uid="tests-reseed-after-flush")
