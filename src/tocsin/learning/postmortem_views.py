"""stub"""

from __future__ import annotations

from tocsin.accounts.models import User
from tocsin.incidents.hooks import PageSection
from tocsin.incidents.models import Incident


def postmortem_section(user: User | None, incident: Incident) -> PageSection | None:
    return None
