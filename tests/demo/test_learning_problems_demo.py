"""The demo's problems: two, one a known error that an open demo incident matches (its
workaround offered at triage, not linked yet), the other open with its incidents."""

from __future__ import annotations

import pytest

from tocsin.core.clock import now
from tocsin.demo import load_demo
from tocsin.demo.learning_problems import write_problems
from tocsin.incidents.models import OPEN_STATUSES, Incident
from tocsin.learning import problems
from tocsin.learning.models import Problem, ProblemStatus

pytestmark = pytest.mark.django_db


def test_the_demo_has_a_known_error_that_an_open_incident_matches() -> None:
    load_demo()
    if not Problem.objects.exists():  # until organisation.py calls it
        write_problems(now())
    known, still_open = Problem.objects.order_by("number")
    assert known.status == ProblemStatus.KNOWN_ERROR and known.workaround
    assert known.links.count() >= 2 and still_open.links.count() >= 1
    assert still_open.status == ProblemStatus.OPEN and still_open.investigation
    matched = [
        incident
        for incident in Incident.objects.filter(status__in=OPEN_STATUSES)
        if any(m.problem == known and not m.linked for m in problems.known_errors_for(incident))
    ]
    assert matched
