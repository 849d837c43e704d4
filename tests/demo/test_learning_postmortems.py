"""The demo's postmortems: the resolved P1/P2 incidents of the history were drafted when
resolved; three are written up, reviewed and published, deterministically."""

from __future__ import annotations

import pytest

from tests.learning.postmortem_helpers import seeded
from tocsin.demo import load_demo
from tocsin.demo.learning_postmortems import write_postmortems
from tocsin.incidents.models import EntryKind, Incident, Status, TimelineEntry
from tocsin.learning.models import Postmortem, PostmortemComment

pytestmark = pytest.mark.django_db


def test_demo_publishes_postmortems_for_resolved_p1_p2() -> None:
    seeded()
    load_demo()
    write_postmortems()
    resolved = Incident.objects.filter(priority__lte=2, status__in=[Status.RESOLVED, Status.CLOSED])
    assert resolved.exists()
    assert Postmortem.objects.filter(incident__in=resolved).count() == resolved.count()
    published = list(Postmortem.objects.filter(status="published").order_by("incident__number"))
    assert len(published) == 3
    for postmortem in published:
        assert postmortem.incident.priority <= 2
        assert postmortem.published_at > postmortem.incident.resolved_at  # type: ignore[operator]
        assert "This review is blameless" in postmortem.markdown
        assert "{timeline}" not in postmortem.markdown
        assert "_What in the system made this possible?_" not in postmortem.markdown
        assert PostmortemComment.objects.filter(postmortem=postmortem).count() == 1
        assert TimelineEntry.objects.filter(
            incident=postmortem.incident, kind=EntryKind.POSTMORTEM, text="Postmortem published."
        ).exists()
    # a second run changes nothing it has done
    write_postmortems()
    assert Postmortem.objects.filter(status="published").count() == 3
