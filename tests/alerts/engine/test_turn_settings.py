"""An ingest turn reads each kind of setting once for all the services it drains
(core.memo: `prime_services`, and lists read whole and filtered per incident), and every
incident still gets exactly its own service's settings: its policy, its automation
webhooks, its run-on-open runbooks, its priority's SLA targets."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.escalation.paging_helpers import SETUP, reachable
from tocsin.accounts.models import Role, User
from tocsin.catalog.models import Category, Service
from tocsin.comms.automation import automation_webhook_create
from tocsin.comms.models import AutomationDelivery
from tocsin.core.memo import batch_memo, prime_services
from tocsin.escalation import services as escalation
from tocsin.escalation.models import Escalation
from tocsin.escalation.policies import policy_create, service_paging_set
from tocsin.incidents.models import Incident, SlaTarget
from tocsin.learning.models import RunbookRun
from tocsin.learning.runbooks import runbook_create

from .helpers import drain, make_integration, make_service, push, trigger

pytestmark = pytest.mark.django_db


def _table_reads(queries: CaptureQueriesContext, table: str, mentioning: str = "") -> int:
    return sum(
        1
        for q in queries.captured_queries
        if q["sql"].lstrip().upper().startswith("SELECT")
        and f'FROM "{table}"' in q["sql"]
        and mentioning in q["sql"]
    )


def test_a_turn_over_many_services_reads_each_setting_once_and_applies_each_services_own(
    make_user: Callable[..., User],
) -> None:
    rita = make_user(Role.RESPONDER, username="rita")
    reachable(rita)
    policies = [
        policy_create(
            actor=SETUP,
            name=f"Policy {n}",
            levels=[{"delay_minutes": 5, "targets": [{"type": "user", "id": "rita"}]}],
        )
        for n in range(3)
    ]
    services = [make_service(f"Shop {n}") for n in range(5)]
    for service, policy in zip(services[:3], policies, strict=True):
        service_paging_set(service=service, actor=SETUP, policy=policy)
    # services 3 and 4: no paging set-up (no climb)
    hooks = {
        "global": automation_webhook_create(
            actor=SETUP,
            name="Everything",
            service=None,
            url="https://automation.example.com/all",
            events=["created"],
        )[0],
        "shop1": automation_webhook_create(
            actor=SETUP,
            name="Shop 1 only",
            service=services[1],
            url="https://automation.example.com/shop1",
            events=["created"],
        )[0],
    }
    runbook = runbook_create(
        actor=SETUP, name="Restart shop 2", service=services[2], run_on_open=True
    )
    SlaTarget.objects.update_or_create(
        priority=3, defaults={"response_minutes": 7, "resolution_minutes": 70}
    )
    for service in services:
        integration = make_integration(service)
        push(integration, trigger(f"{service.name} down", severity="warning"))

    with CaptureQueriesContext(connection) as queries:
        assert drain() == 5

    incidents = {i.service_id: i for i in Incident.objects.all()}
    assert set(incidents) == {s.pk for s in services}
    # each service's own policy, none where it has none
    climbs = dict(Escalation.objects.values_list("incident__service_id", "policy_id"))
    assert climbs == {s.pk: p.pk for s, p in zip(services[:3], policies, strict=True)}
    # the global webhook for every incident, shop 1's only for shop 1's
    delivered = sorted(
        AutomationDelivery.objects.values_list("webhook__name", "message__incident__service_id")
    )
    assert delivered == sorted(
        [("Everything", s.pk) for s in services] + [("Shop 1 only", services[1].pk)]
    ), hooks
    assert list(RunbookRun.objects.values_list("runbook_id", "incident__service_id")) == [
        (runbook.pk, services[2].pk)
    ]
    p3 = [i for i in incidents.values() if i.priority == 3]
    assert p3 and all(i.response_due_at == i.reported_at + dt.timedelta(minutes=7) for i in p3)
    # one read of each kind for the five services (the started run reads its runbook)
    for table, mentioning in (
        ("escalation_servicepaging", ""),
        ("comms_automationwebhook", ""),
        ("learning_runbook", '"archived_at" IS NULL'),
        ("incidents_slatarget", ""),
        ("incidents_prioritymatrixcell", ""),
    ):
        assert _table_reads(queries, table, mentioning) == 1, table


def test_primed_paging_is_what_each_services_own_read_gives(
    make_user: Callable[..., User],
) -> None:
    make_user(Role.RESPONDER, username="rita")
    shop, bank = make_service("Shop"), make_service("Bank")
    policy = policy_create(
        actor=SETUP,
        name="Shop policy",
        levels=[{"delay_minutes": 5, "targets": [{"type": "user", "id": "rita"}]}],
    )
    service_paging_set(service=shop, actor=SETUP, policy=policy)
    alone = {s.pk: escalation.service_paging(s.pk) for s in (shop, bank)}
    with batch_memo():
        prime_services([shop.pk, bank.pk])
        with CaptureQueriesContext(connection) as queries:
            primed = {s.pk: escalation.service_paging(s.pk) for s in (shop, bank)}
    assert not queries.captured_queries  # answered from the primed memo
    assert alone[bank.pk] is None and primed[bank.pk] is None
    assert alone[shop.pk] is not None and primed[shop.pk] is not None
    assert (primed[shop.pk].pk, primed[shop.pk].policy_id) == (
        alone[shop.pk].pk,
        alone[shop.pk].policy_id,
    )
    # outside a batch, priming does nothing and every read is a read
    prime_services([shop.pk])
    with CaptureQueriesContext(connection) as queries:
        escalation.service_paging(shop.pk)
    assert len(queries.captured_queries) == 1


def test_run_on_open_runbooks_keep_to_their_scope_inside_a_batch(
    make_user: Callable[..., User], make_incident: Callable[..., Incident]
) -> None:
    agent = make_user(Role.AGENT)
    shop, bank = Service.objects.create(name="Shop"), Service.objects.create(name="Bank")
    network = Category.objects.create(name="Network")
    both = runbook_create(
        actor=SETUP, name="A shop network", service=shop, category=network, run_on_open=True
    )
    any_shop = runbook_create(actor=SETUP, name="B shop", service=shop, run_on_open=True)
    any_network = runbook_create(actor=SETUP, name="C network", category=network, run_on_open=True)
    with batch_memo():
        made = {
            "shop+network": make_incident(agent, title="1", service=shop, category=network),
            "shop": make_incident(agent, title="2", service=shop),
            "bank+network": make_incident(agent, title="3", service=bank, category=network),
            "bank": make_incident(agent, title="4", service=bank),
        }
    started = {
        name: list(
            RunbookRun.objects.filter(incident=incident)
            .order_by("runbook__name")
            .values_list("runbook_id", flat=True)
        )
        for name, incident in made.items()
    }
    assert started == {
        "shop+network": [both.pk, any_shop.pk, any_network.pk],
        "shop": [any_shop.pk],
        "bank+network": [any_network.pk],
        "bank": [],
    }
