"""A stakeholder update that says "monitoring" (a fix is in and being watched) marks its
incident mitigated, when it is not yet: the reports' time to mitigate (docs/metrics.md)
then needs no second click. Through the comms events, in the update's transaction."""

from __future__ import annotations

from typing import Any

from tocsin.comms import events
from tocsin.comms.models import StakeholderUpdate, UpdateStatus
from tocsin.core.actors import Actor
from tocsin.incidents import services
from tocsin.incidents.models import Incident


def mitigate_on_monitoring(
    *, event: str, incident: Incident | None, actor: Actor, data: dict[str, Any]
) -> None:
    if event != "update_posted" or incident is None:
        return
    update_id = data.get("update_id")
    if not isinstance(update_id, int):
        return
    status = StakeholderUpdate.objects.filter(pk=update_id).values_list("status", flat=True).first()
    if status != UpdateStatus.MONITORING:
        return
    if incident.mitigated_at is not None or not incident.is_open:
        return
    services.incident_mitigate(incident=incident, actor=actor, via="update")


def register() -> None:
    events.listen(mitigate_on_monitoring)
