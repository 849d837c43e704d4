"""The rows the migrations seed are there for every test, also after a transactional
test flushed the database (tests/seeds.py): which tests saw the SLA targets used to depend
on the order the files ran in, so the suite could not be spread over xdist workers."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from tocsin.comms.models import UpdateTemplate
from tocsin.incidents.models import PriorityMatrixCell, SlaTarget
from tocsin.learning.models import PostmortemSettings, PostmortemTemplate


def seeded() -> dict[str, int]:
    return {
        "matrix cells": PriorityMatrixCell.objects.count(),
        "SLA targets": SlaTarget.objects.count(),
        "update templates": UpdateTemplate.objects.count(),
        "postmortem templates": PostmortemTemplate.objects.count(),
        "postmortem settings": PostmortemSettings.objects.count(),
    }


EXPECTED = {
    "matrix cells": 16,
    "SLA targets": 4,
    "update templates": 4,
    "postmortem templates": 1,
    "postmortem settings": 1,
}


@pytest.mark.django_db(transaction=True)
def test_a_flush_puts_the_seeded_rows_back() -> None:
    """What a transactional test's teardown does (Django's `flush`, then post_migrate):
    under xdist, a worker runs the files it is given in order, so the next file's tests
    run on what the flush left."""
    assert seeded() == EXPECTED
    SlaTarget.objects.filter(priority=1).update(response_minutes=5)
    call_command("flush", interactive=False, verbosity=0)
    assert seeded() == EXPECTED
    assert SlaTarget.objects.get(priority=1).response_minutes == 15
