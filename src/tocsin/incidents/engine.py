"""Engine modules of the incidents app: SLA breach marking and auto-close."""

from __future__ import annotations

import datetime as dt

from django.conf import settings

from tocsin.incidents import services
from tocsin.incidents.models import Incident, Status


class SlaBreachModule:
    name = "sla_breaches"

    def tick(self, now: dt.datetime) -> int:
        return services.incident_mark_breaches(at=now)


class AutoCloseModule:
    """Closes resolved incidents N days after their last resolve, unless reopened."""

    name = "auto_close"
    batch = 100

    def tick(self, now: dt.datetime) -> int:
        cutoff = now - dt.timedelta(days=settings.TOCSIN_AUTO_CLOSE_DAYS)
        due = Incident.objects.filter(status=Status.RESOLVED, resolved_at__lte=cutoff).order_by(
            "resolved_at"
        )[: self.batch]
        closed = 0
        for incident in due:
            if services.incident_auto_close(incident=incident):
                closed += 1
        return closed


class AckTimeoutModule:
    """Acknowledged incidents whose service has an ack timeout go back to new."""

    name = "ack_timeouts"
    batch = 100

    def tick(self, now: dt.datetime) -> int:
        due = (
            Incident.objects.select_related("service")
            .filter(status=Status.ACKNOWLEDGED, ack_expires_at__lte=now)
            .order_by("ack_expires_at")[: self.batch]
        )
        return sum(
            1 for incident in due if services.incident_ack_timeout(incident=incident, at=now)
        )
