"""Every write to alerts: turning inbox rows into alerts and incidents, heartbeats,
maintenance windows, silences, and what a resolve or merge of an incident does to its alerts.

The contract with the ingest endpoints (alerts/ingest.py): an accepted request is one
`InboxEvent` row, state `pending`, with `kind` "event" (alert events), "change" (change
events: one Event whose action is "trigger") or "heartbeat" (a ping: no events), and
`events` = a list of `adapters.base.Event.to_json()` dicts. `inbox_process_batch` gives every
row exactly one recorded outcome (N2) in the same transaction as its effects:

- created    - at least one new alert (it opened an incident or joined one);
- merged     - a trigger for the key of an open alert: one more occurrence, no alert;
- refreshed  - a snapshot (Alertmanager/Grafana) re-sent a firing alert: last-seen only;
- updated    - an alert was acknowledged or resolved (also a ping that ended an outage);
- suppressed - alerts recorded, but a maintenance window or silence kept them from
               opening an incident (the reason is in outcome_detail and on the alert);
- ignored    - acknowledge/resolve for a key with no open alert on this integration
               (PagerDuty drops those), or an acknowledge of an acknowledged alert;
- rejected   - the row could not be used (the reason is in outcome_detail);
- recorded   - a change event, or a heartbeat ping.

A row with several events (a snapshot) gets the most telling outcome of its events, in
the order above, and counts of every outcome in outcome_detail.

The package, by use case: `inbox` (adding a row, purges), `drain` (applying rows, alone
or in batches), `batch_state` (what a batch of one service shares), `alert_ops` (an
event's effect on alerts and incidents), `new_alerts` (their insert), `storms` (storm
titles), `pings` (heartbeat pings and misses), `incident_hooks` (an incident's resolve or
merge), `alert_actions` (people acknowledging and resolving alerts), `windows`
(maintenance windows and silences), `_common` (what they share). Every
name is re-exported here: `from tocsin.alerts import services; services.X`.
"""

from tocsin.alerts.services import (
    _common,
    alert_actions,
    alert_ops,
    batch_state,
    drain,
    inbox,
    incident_hooks,
    new_alerts,
    pings,
    storms,
    windows,
)
from tocsin.alerts.services._common import (
    CHANGE_EVENT_KEEP,
    DEFAULT_GRACE,
    DEFAULT_INTERVAL,
    DETAIL_MAX,
    HEARTBEAT_KEY,
    INCIDENT_HOLD,
    OUTCOME_ORDER,
    STORM_LABELS,
    STORM_REFRESH,
    STORM_TOP,
    STORM_WINDOW,
    RowRejected,
    _auto_resolve,
    _event_from,
    _format_value,
    _impact_urgency,
    _note_joined,
    _parse_time,
    _Result,
    _save_storm_counts,
    _summarise,
    alert_description,
    grouping_for,
    integration_actor,
    log,
)
from tocsin.alerts.services.alert_actions import (
    ALERT_ACTIONS,
    BULK_MAX,
    AlertsChanged,
    alert_acknowledge,
    alert_resolve,
    alerts_acknowledge,
    alerts_act,
    alerts_resolve,
)
from tocsin.alerts.services.alert_ops import (
    _ALERT_INCIDENT,
    _Row,
)
from tocsin.alerts.services.batch_state import (
    _Shared,
)
from tocsin.alerts.services.drain import (
    PREFETCH_KEYS,
    _apply_events,
    _prefetch_groupings,
    _prefetch_open_alerts,
    _process_batch,
    _process_guarded,
    _record_change,
    _RowFailed,
    _RowsTaken,
    inbox_process,
    inbox_process_batch,
)
from tocsin.alerts.services.inbox import (
    _INBOX_EVENTS,
    change_events_purge,
    inbox_add,
    inbox_purge,
)
from tocsin.alerts.services.incident_hooks import (
    alerts_follow_merge,
    alerts_resolve_for_incident,
)
from tocsin.alerts.services.new_alerts import (
    _NEW_ALERT_VALUES,
    NewAlert,
    _insert_alerts,
)
from tocsin.alerts.services.pings import (
    _heartbeat_of,
    _option_seconds,
    _record_ping,
    heartbeat_missed,
)
from tocsin.alerts.services.storms import (
    _top,
    storm_refresh,
    storms_refresh_due,
)
from tocsin.alerts.services.windows import (
    MATCHERS_MAX,
    SILENCE_AUDIT_FIELDS,
    SPAN_MAX,
    TEXT_MAX,
    WINDOW_AUDIT_FIELDS,
    clean_matchers,
    maintenance_window_create,
    maintenance_window_end,
    silence_create,
    silence_expire,
)

__all__ = [
    "ALERT_ACTIONS",
    "BULK_MAX",
    "CHANGE_EVENT_KEEP",
    "DEFAULT_GRACE",
    "DEFAULT_INTERVAL",
    "DETAIL_MAX",
    "HEARTBEAT_KEY",
    "INCIDENT_HOLD",
    "MATCHERS_MAX",
    "OUTCOME_ORDER",
    "PREFETCH_KEYS",
    "SILENCE_AUDIT_FIELDS",
    "SPAN_MAX",
    "STORM_LABELS",
    "STORM_REFRESH",
    "STORM_TOP",
    "STORM_WINDOW",
    "TEXT_MAX",
    "WINDOW_AUDIT_FIELDS",
    "_ALERT_INCIDENT",
    "_INBOX_EVENTS",
    "_NEW_ALERT_VALUES",
    "AlertsChanged",
    "NewAlert",
    "RowRejected",
    "_Result",
    "_Row",
    "_RowFailed",
    "_RowsTaken",
    "_Shared",
    "_apply_events",
    "_auto_resolve",
    "_common",
    "_event_from",
    "_format_value",
    "_heartbeat_of",
    "_impact_urgency",
    "_insert_alerts",
    "_note_joined",
    "_option_seconds",
    "_parse_time",
    "_prefetch_groupings",
    "_prefetch_open_alerts",
    "_process_batch",
    "_process_guarded",
    "_record_change",
    "_record_ping",
    "_save_storm_counts",
    "_summarise",
    "_top",
    "alert_acknowledge",
    "alert_actions",
    "alert_description",
    "alert_ops",
    "alert_resolve",
    "alerts_acknowledge",
    "alerts_act",
    "alerts_follow_merge",
    "alerts_resolve",
    "alerts_resolve_for_incident",
    "batch_state",
    "change_events_purge",
    "clean_matchers",
    "drain",
    "grouping_for",
    "heartbeat_missed",
    "inbox",
    "inbox_add",
    "inbox_process",
    "inbox_process_batch",
    "inbox_purge",
    "incident_hooks",
    "integration_actor",
    "log",
    "maintenance_window_create",
    "maintenance_window_end",
    "new_alerts",
    "pings",
    "silence_create",
    "silence_expire",
    "storm_refresh",
    "storms",
    "storms_refresh_due",
    "windows",
]
