"""What the data migrations seed is there for every test, whatever ran before it.

A transactional test ends with a flush of every table (tests/conftest.py puts the seeds
back after it). The tests of one file run in one process (also under pytest-xdist's
`--dist loadfile`); pytest-django runs a file's transactional tests after its others and
keeps their order, so the second transactional test here always follows the flush of the
first, and sees what any test after that flush sees.
"""

from __future__ import annotations

from importlib import import_module

import pytest

from tocsin.comms.models import UpdateTemplate
from tocsin.incidents.models import (
    BusinessCalendar,
    IncidentRole,
    PriorityMatrixCell,
    SlaTarget,
)
from tocsin.learning.models.postmortems import PostmortemSettings, PostmortemTemplate

defaults = import_module("tocsin.incidents.migrations.0002_defaults")
comms_seed = import_module("tocsin.comms.migrations.0002_updates_subscribers")
learning_seed = import_module("tocsin.learning.migrations.0006_postmortems")


def seeds() -> dict[str, object]:
    return {
        "matrix": sorted(PriorityMatrixCell.objects.values_list("urgency", "impact", "priority")),
        "sla": sorted(
            SlaTarget.objects.values_list("priority", "response_minutes", "resolution_minutes")
        ),
        "calendars": list(BusinessCalendar.objects.values_list("name", flat=True)),
        "roles": sorted(IncidentRole.objects.filter(builtin=True).values_list("key", flat=True)),
        "update templates": sorted(UpdateTemplate.objects.values_list("name", flat=True)),
        "postmortem template": list(PostmortemTemplate.objects.values_list("name", flat=True)),
        "postmortem default": list(
            PostmortemSettings.objects.values_list("default_template__name", flat=True)
        ),
    }


EXPECTED = {
    "matrix": sorted(
        (urgency, impact, priority)
        for urgency, row in defaults.MATRIX.items()
        for impact, priority in row.items()
    ),
    "sla": sorted((p, r, s) for p, (r, s) in defaults.TARGETS.items()),
    "calendars": ["Office hours (Mon–Fri 09–17)"],
    "roles": sorted(["commander", "comms_lead", "scribe"]),
    "update templates": sorted(name for name, *_ in comms_seed.SEEDED),
    "postmortem template": [learning_seed.TEMPLATE_NAME],
    "postmortem default": [learning_seed.TEMPLATE_NAME],
}


@pytest.mark.django_db(transaction=True)
def test_a_transactional_test_may_change_the_seeds() -> None:
    assert seeds() == EXPECTED
    SlaTarget.objects.filter(priority=1).update(response_minutes=1)
    PriorityMatrixCell.objects.all().delete()
    UpdateTemplate.objects.all().delete()
    # ...and its flush at the end empties every table


@pytest.mark.django_db(transaction=True)
def test_the_next_test_finds_the_seeds_as_migrated() -> None:
    assert seeds() == EXPECTED


@pytest.mark.django_db
def test_a_test_in_a_transaction_finds_them_too() -> None:
    assert seeds() == EXPECTED
