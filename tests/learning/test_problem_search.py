"""problems_like on the real index (migration 0002) on both databases."""

from __future__ import annotations

import pytest

from tocsin.learning.models import Problem, ProblemStatus
from tocsin.learning.problem_search import problems_like

pytestmark = pytest.mark.django_db


def test_problems_are_found_by_any_of_their_text_and_filtered_by_status() -> None:
    router = Problem.objects.create(
        number=1,
        title="Misconfigured core router",
        root_cause="A route map dropped the default route.",
        workaround="Fail over to the standby router.",
        status=ProblemStatus.KNOWN_ERROR,
    )
    printer = Problem.objects.create(number=2, title="Printer queue stalls")
    found = problems_like("checkout slow: router dropping packets")
    assert [p for p, _ in found] == [router]
    assert [p for p, _ in problems_like("standby")] == [router]  # the workaround is searched
    assert problems_like("printer", statuses=(ProblemStatus.KNOWN_ERROR,)) == []
    assert [p for p, _ in problems_like("printers")] == [printer]  # stemmed
    assert problems_like('"; qwerty OR 1=1; --') == []  # syntax is dropped, not run
