from django.contrib import admin
from django.urls import include, path, re_path

from tocsin.accounts import views as account_views
from tocsin.alerts import ingest
from tocsin.api import api
from tocsin.core.theme import favicon
from tocsin.engine import health
from tocsin.escalation import sms_views
from tocsin.reports import prometheus

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", prometheus.metrics, name="metrics"),  # Prometheus (issue 13)
    path("favicon.ico", favicon, name="favicon"),
    # The public status page, early: a reload storm resolves it before anything else.
    path("status/", include("tocsin.comms.public_urls")),
    # Ingest: drop-in targets for the tools people already run (specs/wire-formats.md).
    path("v2/enqueue", ingest.pagerduty_enqueue, name="ingest-pagerduty"),
    path("v2/change/enqueue", ingest.pagerduty_change, name="ingest-pagerduty-change"),
    path("opsgenie/v2/alerts", ingest.opsgenie_create, name="ingest-opsgenie"),
    path(
        "opsgenie/v2/alerts/requests/<str:request_id>",
        ingest.opsgenie_request_status,
        name="ingest-opsgenie-request",
    ),
    path(
        "opsgenie/v2/alerts/<str:alias>/close",
        ingest.opsgenie_close,
        name="ingest-opsgenie-close",
    ),
    path(
        "opsgenie/v2/alerts/<str:identifier>/acknowledge",
        ingest.opsgenie_acknowledge,
        name="ingest-opsgenie-acknowledge",
    ),
    path(
        "opsgenie/v2/alerts/<str:identifier>/unacknowledge",
        ingest.opsgenie_unacknowledge,
        name="ingest-opsgenie-unacknowledge",
    ),
    path(
        "opsgenie/v2/alerts/<str:identifier>/notes",
        ingest.opsgenie_note,
        name="ingest-opsgenie-note",
    ),
    path("opsgenie/v2/alerts/<str:identifier>", ingest.opsgenie_get, name="ingest-opsgenie-get"),
    path(
        "opsgenie/v2/alerts/<str:alias>/<str:field>",
        ingest.opsgenie_update,
        name="ingest-opsgenie-update",
    ),
    # Every other path under /opsgenie/ answers Opsgenie's JSON 404, never an HTML page.
    re_path(r"^opsgenie/(?P<rest>.*)$", ingest.opsgenie_unknown, name="ingest-opsgenie-unknown"),
    path("integrations/alertmanager/<str:key>", ingest.alertmanager, name="ingest-alertmanager"),
    path("integrations/grafana/<str:key>", ingest.grafana, name="ingest-grafana"),
    path("integrations/webhook/<str:key>", ingest.webhook, name="ingest-webhook"),
    path("integrations/heartbeat/<str:key>", ingest.heartbeat, name="ingest-heartbeat"),
    # The same, for senders that put the key in the Authorization header instead.
    path("integrations/alertmanager", ingest.alertmanager, name="ingest-alertmanager-header"),
    path("integrations/grafana", ingest.grafana, name="ingest-grafana-header"),
    path("integrations/webhook", ingest.webhook, name="ingest-webhook-header"),
    path("integrations/heartbeat", ingest.heartbeat, name="ingest-heartbeat-header"),
    path("integrations/sms/reply", sms_views.sms_reply, name="ingest-sms-reply"),
    path("api/v1/", api.urls),
    # The admin signs in through Tocsin's own (throttled, audited) sign-in page.
    path(
        "admin/login/",
        account_views.SignInView.as_view(redirect_authenticated_user=False),
        name="admin-login",
    ),
    path("admin/", admin.site.urls),
    path("", include("tocsin.catalog.web_urls")),
    path("", include("tocsin.alerts.web_urls")),
    path("", include("tocsin.oncall.web_urls")),
    path("", include("tocsin.escalation.ui_urls")),
    path("", include("tocsin.comms.automation_urls")),
    path("calendar/", include("tocsin.oncall.calendar_urls")),
    path("status-admin/", include("tocsin.comms.statuspage_urls")),
    path("", include("tocsin.notify.paging_urls")),
    path("", include("tocsin.comms.major_urls")),
    path("", include("tocsin.learning.hub_urls")),
    path("", include("tocsin.learning.problem_urls")),
    path("", include("tocsin.learning.action_item_urls")),
    path("", include("tocsin.learning.article_urls")),
    path("", include("tocsin.learning.runbook_urls")),
    path("", include("tocsin.learning.postmortem_urls")),
    path("", include("tocsin.reports.overview_urls")),
    path("", include("tocsin.reports.noise_urls")),
    path("", include("tocsin.reports.oncall_urls")),
    path("", include("tocsin.escalation.feedback_urls")),
    path("", include("tocsin.web_urls")),
]
