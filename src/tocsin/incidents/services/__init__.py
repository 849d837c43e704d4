"""Every write to an incident: one function per use case, one transaction each, with its
timeline entry written in the same transaction.

The functions live in the modules of this package; import them from here
(`from tocsin.incidents import services; services.incident_resolve(...)`):

- `record`: filing and triage (`incident_create`, `incident_update`);
- `routing`: who works on it (`incident_assign`, `incident_escalate`);
- `actions`: the lifecycle, one function per action (`incident_acknowledge`, ...,
  `incident_reopen`), and `incident_act` for callers that get the action's name from a
  request;
- `notes`: notes, attachments and redaction;
- `merge`: duplicates;
- `mitigate`: the impact has stopped (`incident_mitigate`, the first time only);
- `confirm`: the reporter's confirmation (and its signed link);
- `response`: participants, incident roles and major incidents (issue 11);
- `timers`: what the engine writes as time passes (SLA breaches, auto-close, ack timeouts).

Other apps react to a resolve or merge through `tocsin.incidents.hooks`, never by being
imported here.
"""

from tocsin.incidents.services._common import (
    DESCRIPTION_MAX,
    EARLIEST_MOMENT,
    NOTE_MAX,
    TITLE_MAX,
)
from tocsin.incidents.services.actions import (
    ACTION_SERVICES,
    incident_acknowledge,
    incident_act,
    incident_close,
    incident_hold,
    incident_reopen,
    incident_resolve,
    incident_resume,
    incident_start,
    incident_unacknowledge,
)
from tocsin.incidents.services.confirm import (
    CONFIRM_MAX_AGE,
    confirmation_check,
    confirmation_token,
    incident_confirm,
)
from tocsin.incidents.services.merge import incident_merge
from tocsin.incidents.services.mitigate import incident_mitigate
from tocsin.incidents.services.notes import (
    incident_add_note,
    incident_attach,
    timeline_pin,
    timeline_redact,
    timeline_view_set,
)
from tocsin.incidents.services.record import TRIAGE_FIELDS, incident_create, incident_update
from tocsin.incidents.services.response import (
    incident_role_create,
    incident_role_update,
    incident_war_room_set,
    major_declare,
    major_stand_down,
    participant_add,
    participant_invite,
    role_assign,
    role_holder,
    role_release,
)
from tocsin.incidents.services.routing import incident_assign, incident_escalate
from tocsin.incidents.services.timers import (
    incident_ack_timeout,
    incident_auto_close,
    incident_mark_breaches,
)

__all__ = [
    "ACTION_SERVICES",
    "CONFIRM_MAX_AGE",
    "DESCRIPTION_MAX",
    "EARLIEST_MOMENT",
    "NOTE_MAX",
    "TITLE_MAX",
    "TRIAGE_FIELDS",
    "confirmation_check",
    "confirmation_token",
    "incident_ack_timeout",
    "incident_acknowledge",
    "incident_act",
    "incident_add_note",
    "incident_assign",
    "incident_attach",
    "incident_auto_close",
    "incident_close",
    "incident_confirm",
    "incident_create",
    "incident_escalate",
    "incident_hold",
    "incident_mark_breaches",
    "incident_merge",
    "incident_mitigate",
    "incident_reopen",
    "incident_resolve",
    "incident_resume",
    "incident_role_create",
    "incident_role_update",
    "incident_start",
    "incident_unacknowledge",
    "incident_update",
    "incident_war_room_set",
    "major_declare",
    "major_stand_down",
    "participant_add",
    "participant_invite",
    "role_assign",
    "role_holder",
    "role_release",
    "timeline_pin",
    "timeline_redact",
    "timeline_view_set",
]
