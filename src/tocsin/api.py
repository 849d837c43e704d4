"""The REST API under /api/v1 (assembled from each app's router).

Schema at /api/v1/openapi.json, interactive docs at /api/v1/docs.
"""

from ninja import NinjaAPI

from tocsin.accounts.api import router as accounts_router
from tocsin.accounts.api_auth import AUTH
from tocsin.accounts.audit_api import router as audit_router
from tocsin.alerts.api import router as alerts_router
from tocsin.catalog.api import router as catalog_router
from tocsin.comms.automation_api import router as automation_router
from tocsin.comms.major_api import router as major_router
from tocsin.comms.statuspage_api import router as statuspage_router
from tocsin.comms.update_api import router as updates_router
from tocsin.core.api import install_error_handlers, install_not_found_route
from tocsin.escalation.api import router as escalation_router
from tocsin.escalation.feedback_api import router as page_feedback_router
from tocsin.escalation.hierarchy_api import router as escalation_hierarchy_router
from tocsin.escalation.incident_api import router as incident_paging_router
from tocsin.escalation.responder_api import router as responders_router
from tocsin.incidents.api import router as incidents_router
from tocsin.incidents.response_api import router as response_router
from tocsin.incidents.saved_views_api import router as saved_views_router
from tocsin.learning.action_item_api import router as action_items_router
from tocsin.learning.article_api import router as articles_router
from tocsin.learning.postmortem_api import router as postmortems_router
from tocsin.learning.problem_api import router as problems_router
from tocsin.learning.runbook_api import router as runbooks_router
from tocsin.learning.similar_api import router as similar_router
from tocsin.notify.contacts_api import router as contacts_router
from tocsin.oncall.api import router as oncall_router
from tocsin.oncall.calendar_api import router as oncall_calendar_router
from tocsin.reports.api import router as reports_router
from tocsin.reports.oncall_api import router as reports_oncall_router

api = NinjaAPI(
    title="Tocsin API",
    version="1",
    urls_namespace="api",
    auth=AUTH,
    description=(
        "Incidents, people, teams, services (with their integrations), categories, alerts, "
        "change events, maintenance windows and silences. Authenticate with "
        "`Authorization: Bearer <token>` (create one with `tocsin token create USERNAME`). "
        "Incidents are addressed as INC-42 or 42; people by username; everything else by id. "
        "Lists answer {items, count} and take limit (≤ 500) and offset. POSTs that create "
        "accept an Idempotency-Key header (replayed for 24 hours)."
    ),
)
install_error_handlers(api)
api.add_router("", incidents_router)
api.add_router("", accounts_router)
api.add_router("", contacts_router)
api.add_router("", catalog_router)
api.add_router("", alerts_router)
api.add_router("", audit_router)
api.add_router("", saved_views_router)
api.add_router("", oncall_router)
api.add_router("", oncall_calendar_router)
api.add_router("", escalation_router)
api.add_router("", incident_paging_router)
api.add_router("", escalation_hierarchy_router)
api.add_router("", updates_router)
api.add_router("", automation_router)
api.add_router("", statuspage_router)
api.add_router("", responders_router)
api.add_router("", major_router)
api.add_router("", response_router)
api.add_router("", problems_router)
api.add_router("", action_items_router)
api.add_router("", articles_router)
api.add_router("", runbooks_router)
api.add_router("", postmortems_router)
api.add_router("", similar_router)
api.add_router("", reports_router)
api.add_router("", reports_oncall_router)
api.add_router("", page_feedback_router)
install_not_found_route(api)
