"""The demo's automation webhooks: there, disabled, and nothing of the history queued to
them (their example.com addresses go nowhere)."""

from __future__ import annotations

import pytest

from tocsin.comms.models import AutomationDelivery, AutomationWebhook
from tocsin.demo import load_demo

pytestmark = pytest.mark.django_db


def test_the_demo_has_two_disabled_webhooks_and_no_deliveries() -> None:
    load_demo()
    webhooks = list(AutomationWebhook.objects.order_by("pk"))
    assert [w.service is None for w in webhooks] == [True, False]
    assert not any(w.active for w in webhooks)
    assert not AutomationDelivery.objects.exists()
