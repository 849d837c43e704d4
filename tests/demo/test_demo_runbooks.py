"""The demo's runbooks: one on each main service and one for a category, every step
manual (nothing is called), and a run half done on an open incident."""

from __future__ import annotations

import pytest

from tocsin.demo import load_demo
from tocsin.learning import runbooks
from tocsin.learning.models import Runbook, RunbookRun, RunbookStep
from tocsin.notify.models import OutboxMessage

pytestmark = pytest.mark.django_db


def test_the_demo_has_runbooks_on_the_main_services_and_a_run_in_progress() -> None:
    load_demo()  # writes the runbooks (demo/organisation.py)
    names = {(r.name, r.service.name if r.service else None) for r in Runbook.objects.all()}
    assert ("Mail not delivered", "Email") in names
    assert ("VPN: people cannot connect", "VPN") in names
    assert ("Customer portal down or slow", "Customer portal") in names
    assert Runbook.objects.filter(category__name="Access").exists()
    assert not RunbookStep.objects.exclude(url="").exists()  # all manual in the demo
    [run] = RunbookRun.objects.all()
    assert run.incident.is_open and runbooks.progress(run)[0] == 2
    assert not OutboxMessage.objects.filter(purpose=runbooks.PURPOSE).exists()
