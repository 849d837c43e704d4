"""Every page of Tocsin, for every role: the crawl list of the accessibility checks.

The list is built from the URL conf. Each named route is either a *page* (a GET answers
an HTML page a person reads) and gets one or more crawl targets in `targets()`, or is
listed in `NOT_PAGES` with the reason (a POST-only action, an API, an ingest endpoint, a
fragment that a page polls). `uncovered_routes()` names every route that is neither, so
a new page fails `test_every_route_is_crawled_or_explained` until it is added here:

- a page that needs no object: add it to `SIMPLE_PAGES` (name → URL);
- a page about an object: add a branch to `targets()` that picks one from the demo data;
- not a page: add it to `NOT_PAGES` with the reason.

The Django admin is crawled from its own registry (index, each app, and each model's
list, add and change pages), so a newly registered model is crawled without an entry.

Used by tests/browser/test_accessibility.py (axe-core in Chromium) and
tests/web/test_duplicate_ids.py (the rendered HTML, no browser).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.contrib import admin
from django.contrib.auth.hashers import make_password
from django.db.models import Count
from django.test import RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.demo_snapshot import demo
from tocsin.accounts.models import ContactMethod, Role, Team, User
from tocsin.accounts.permissions import Action, can, people_who_may
from tocsin.accounts.services import contact_method_add, user_create
from tocsin.alerts.models import Alert, MaintenanceWindow
from tocsin.catalog.models import Service
from tocsin.comms.models import Component, ComponentGroup, PublicIncident, PublicMaintenance
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.escalation.links import page_token
from tocsin.escalation.models import EscalationPolicy, Page
from tocsin.escalation.policies import policy_create
from tocsin.incidents.models import Incident, Status
from tocsin.incidents.services.confirm import confirmation_token
from tocsin.oncall import selectors as oncall_selectors
from tocsin.oncall import services as oncall_services
from tocsin.oncall import specs
from tocsin.oncall.models import Schedule
from tocsin.oncall.services import schedule_create

PASSWORD = "correct horse battery"

# Routes that are not pages a person reads, and why.
NOT_PAGES: dict[str, str] = {
    "healthz": "health check (plain text)",
    "readyz": "readiness check (plain text)",
    "logout": "POST only (the Sign out button)",
    "queue-rows": "fragment polled by the queue page (checked as part of the queue)",
    "incident-live": "fragment polled by the incident page (checked as part of it)",
    "incident-act": "POST only (status actions)",
    "incident-triage": "POST only",
    "incident-assign": "POST only",
    "incident-escalate": "POST only",
    "incident-merge": "POST only",
    "incident-note": "POST only",
    "incident-attach": "POST only",
    "attachment": "file download",
    "timeline-redact": "POST only",
    "incident-confirm": "POST only",
    "service-settings": "POST only",
    "integration-rotate": "POST only",
    "integration-revoke": "POST only",
    "window-create": "POST only",
    "silence-create": "POST only",
    "window-end": "POST only",
    "silence-expire": "POST only",
    "alert-act": "POST only (acknowledge or resolve one alert)",
    "alerts-bulk": "POST only (the selected alerts)",
    "favicon": "the icon file",
    "postmortem-new": "POST only (the incident page's Write postmortem button)",
    "postmortem-move": "POST only (the postmortem's state buttons)",
    "postmortem-comment": "POST only (a review comment)",
    "postmortem-export": "file download (the Markdown)",
    "incident-take": "POST only (Assign to me)",
    "incident-mitigate": "POST only (Mark mitigated)",
    "incident-timeline-view": "POST only (timeline order and filter)",
    "timeline-pin": "POST only",
    "portal-confirm": "POST only (confirm or reopen from the portal row)",
    "queue-view-save": "POST only",
    "queue-view-delete": "POST only",
    "theme": "POST only (the theme switch)",
    "calendar-feed": "the calendar file (text/calendar, read by calendar apps)",
    "calendar-feed-revoke": "POST only (revoke a calendar address)",
    "schedule-override-create": "POST only (the schedule page's override form)",
    "schedule-override-delete": "POST only",
    "schedule-cover-create": "POST only (Ask for cover)",
    "schedule-cover-accept": "POST only (Cover it)",
    "schedule-cover-withdraw": "POST only",
    "schedule-editor-preview": "fragment POSTed by the schedule editor (checked as part of it)",
    "service-escalation-policy": "POST only (the service page's paging card)",
    "paging-contact-add": "POST only (the paging page's add form; its refusal is crawled)",
    "paging-contact-remove": "POST only (Remove, with the password)",
    "paging-contact-test": "POST only (Send test)",
    "paging-rules": "POST only (the paging page's rules editor)",
    "paging-preferences": "POST only (the paging page's preferences)",
    "incident-page-now": "POST only (the incident's Paging section: Page now)",
    "incident-responders-add": "POST only (the incident's Responders section: add responders)",
    "incident-responder-answer": "POST only (the Responders section: accept or decline)",
    "incident-major-declare": "POST only (the incident's Major incident section)",
    "incident-major-stand-down": "POST only (the incident's Major incident section)",
    "incident-major-checklist": "POST only (ticks a checklist item)",
    "incident-page-escalate": "POST only (Escalate now)",
    "incident-page-reassign": "POST only (Reassign the paging)",
    "incident-notify-management": "POST only (the incident's Management section)",
    "incident-update-subscribe-me": "POST only (the Stakeholder updates section: Subscribe me)",
    "incident-update-subscriber-add": "POST only (Add a subscriber)",
    "incident-update-subscriber-remove": "POST only (Remove a subscriber)",
    "automation-webhook-active": "POST only (Disable / Enable)",
    "automation-webhook-test": "POST only (Send test)",
    "automation-webhook-rotate": "POST only (Rotate secret; its page is the webhook's)",
    "automation-webhook-delete": "POST only (Delete webhook)",
    "problem-trend-raise": "POST only (the trends page's Raise problem)",
    "problem-move": "POST only (the problem page's Known error / Resolve / Reopen)",
    "problem-link": "POST only (Link to PRB-n, on the incident page and the problem page)",
    "problem-unlink": "POST only (Unlink, on the problem page)",
    "action-item-accept-risk": "POST only (Accept the risk; its page is the item's)",
    "runbook-archive": "POST only (Archive / Restore a runbook)",
    "incident-runbook-start": "POST only (the incident's Runbooks section: Start)",
    "incident-runbook-step": "POST only (ticks a runbook step)",
    "incident-runbook-call": "POST only (calls an automated runbook step again)",
    "status-component-status": "POST only (set a component's status)",
    "status-component-move": "POST only (move a component up or down)",
    "status-component-archive": "POST only",
    "status-group-move": "POST only (move a group up or down)",
    "status-group-archive": "POST only",
    "status-incident-publish": "POST only (publish a draft public incident)",
    "status-incident-update": "POST only (post a public update)",
    "status-incident-link": "POST only",
    "status-incident-unlink": "POST only",
    "status-incident-delete": "POST only (delete a draft)",
    "status-maintenance-update": "POST only",
    "status-maintenance-publish": "POST only",
    "status-maintenance-delete": "POST only",
    "status-admin-logo": "the status page's logo image",
    "status-brand-css": "the status page's brand colours (text/css)",
    "status-logo": "the status page's logo (an image)",
    "status-feed-atom": "the status page's Atom feed (read by feed readers)",
    "status-feed-rss": "the status page's RSS feed (read by feed readers)",
    "incident-role-assign": "POST only (the incident's Response block: assign a role)",
    "incident-role-release": "POST only (Response block: step down)",
    "incident-participant-add": "POST only (Response block: add participant)",
    "incident-war-room": "POST only (Response block: war room links)",
    "settings-role": "POST only (the incident roles page: save or archive one role)",
    "service-war-room": "POST only (the service page's war room templates)",
    "kb-suggest": "JSON for the new-incident forms' suggestion box (tests/learning/)",
    "kb-archive": "POST only (the article page's Archive / Restore)",
    "incident-article-solved": "POST only (the incident's Knowledge base section)",
    "reports-drill-csv": "CSV file (a drill-down list's Download CSV; tests/reports/)",
    "reports-export-csv": "CSV file (the dashboards' Export CSV; tests/reports/)",
    "reports-export-json": "JSON (the dashboards' Export JSON; tests/reports/)",
    "reports-chart": "an SVG image of a chart, shown by the reports pages (tests/reports/)",
    "reports-oncall-csv": "CSV file (the on-call load's Download CSV; tests/reports/)",
    "metrics": "Prometheus text for scrapers, not a page (tests/reports/test_prometheus.py)",
    "incident-page-feedback": "POST only: the incident page's paging feedback form",
    "page-link-feedback": "POST only: the page link's feedback form (no session)",
}
# Whole families of routes that are machine interfaces, by name prefix or namespace.
NOT_PAGE_PREFIXES: dict[str, str] = {
    "ingest-": "ingest endpoint (JSON for monitoring tools)",
    "api:": "REST API (JSON; its own tests and OpenAPI document)",
    "status-api-": "the status page's Statuspage-compatible JSON (tests/comms/)",
}
# The admin namespace is crawled from admin.site's registry (see `admin_targets`).
ADMIN_NAMESPACE = "admin"

# Pages that need no object: route name → the URL to crawl.
SIMPLE_PAGES: dict[str, str] = {
    "queue": "/",
    "portal": "/portal/",
    "incident-new": "/incidents/new/",
    "audit-log": "/settings/audit/",
    "services": "/services/",
    "alerts": "/alerts/",
    "settings": "/settings/",
    "settings-matrix": "/settings/priority-matrix/",
    "settings-sla": "/settings/sla-targets/",
    "settings-major": "/settings/major-incidents/",
    "settings-roles": "/settings/roles/",
    "calendar-feeds": "/calendar/feeds/",
    "oncall-hours": "/oncall/hours/",
    "schedules": "/schedules/",
    "oncall": "/oncall/",
    "oncall-mine": "/oncall/mine/",
    "schedule-new": "/schedules/new/",
    "escalation-policies": "/escalation-policies/",
    "escalation-policy-new": "/escalation-policies/new/",
    "paging-mine": "/me/paging/",
    "people": "/people/",
    "deliveries": "/deliveries/",
    "home": "/home/",
    "settings-escalation": "/settings/escalation/",
    "settings-update-templates": "/settings/update-templates/",
    "automation-webhooks": "/settings/webhooks/",
    "automation-webhook-new": "/settings/webhooks/new/",
    "problems": "/problems/",
    "problem-new": "/problems/new/",
    "problem-trends": "/problems/trends/?threshold=2",
    "runbooks": "/runbooks/",
    "runbook-new": "/runbooks/new/",
    "status-admin": "/status-admin/",
    "status-component-new": "/status-admin/components/new/",
    "status-group-new": "/status-admin/groups/new/",
    "status-incident-new": "/status-admin/incidents/new/",
    "status-maintenance-new": "/status-admin/maintenances/new/",
    "status-branding": "/status-admin/page/",
    "learning": "/learning/",
    "action-items": "/action-items/",
    "action-item-new": "/action-items/new/",
    "kb": "/kb/",
    "kb-new": "/kb/new/",
    "postmortems": "/postmortems/",
    "settings-postmortems": "/settings/postmortems/",
    "settings-postmortem-template-new": "/settings/postmortems/templates/new/",
    "reports": "/reports/",
    "reports-teams": "/reports/teams/",
    "reports-drill": "/reports/incidents/?metric=sla_response&part=rest",
    "reports-noise": "/reports/noise/",
    "reports-oncall": "/reports/oncall/",
}
# Pages about an object or seen signed out: `targets()` builds them.
OBJECT_PAGES = (
    "reports-team",
    "login",
    "admin-login",
    "incident",
    "confirm-link",
    "service",
    "integration-new",
    "integration-key",
    "alert",
    "schedule",
    "schedule-edit",
    "schedule-archive",
    "escalation-policy",
    "escalation-policy-edit",
    "escalation-policy-archive",
    "paging-person",
    "page-link",
    "incident-update-compose",
    "updates-unsubscribe",
    "automation-webhook",
    "automation-webhook-edit",
    "problem",
    "problem-edit",
    "runbook",
    "runbook-edit",
    "status-component",
    "status-group",
    "status-incident",
    "status-maintenance",
    "status-page",
    "status-public-incident",
    "status-subscribe",
    "status-subscribe-confirm",
    "status-unsubscribe",
    "action-item",
    "kb-article",
    "kb-edit",
    "kb-version",
    "postmortem",
    "postmortem-edit",
    "postmortem-print",
    "settings-postmortem-template",
)


def _walk(patterns: list[URLPattern | URLResolver], namespace: str, route: str) -> Iterator[str]:
    for item in patterns:
        if isinstance(item, URLResolver):
            inner = f"{namespace}{item.namespace}:" if item.namespace else namespace
            yield from _walk(item.url_patterns, inner, route + str(item.pattern))
        elif item.name:
            yield f"{namespace}{item.name}"
        else:
            yield f"{namespace}<unnamed {route}{item.pattern}>"


def routes() -> list[str]:
    """Every route of the URL conf, by namespaced name."""
    return sorted(set(_walk(get_resolver().url_patterns, "", "/")))


def is_page(name: str) -> bool:
    return name in SIMPLE_PAGES or name in OBJECT_PAGES


def uncovered_routes() -> list[str]:
    """Routes that are neither crawled nor explained in NOT_PAGES."""
    missing = []
    for name in routes():
        if name.startswith(f"{ADMIN_NAMESPACE}:"):
            continue
        if is_page(name) or name in NOT_PAGES:
            continue
        if any(name.startswith(prefix) for prefix in NOT_PAGE_PREFIXES):
            continue
        missing.append(name)
    return missing


def stale_entries() -> list[str]:
    """Names listed here that the URL conf no longer has."""
    known = set(routes())
    listed = set(SIMPLE_PAGES) | set(OBJECT_PAGES) | set(NOT_PAGES)
    return sorted(listed - known)


# --- the data -----------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """One thing to look at: a URL (GET), or a form to submit first (`form`: its URL,
    the fields to set by name — a radio button by its value — and the submit button's
    text); the page the form lands on is the one checked."""

    route: str
    label: str
    url: str
    form: tuple[str, dict[str, str], str] | None = None


@dataclass
class Site:
    """The demo organisation plus one person of every role, signed in with PASSWORD."""

    people: dict[str, User] = field(default_factory=dict)

    def person(self, role: str) -> User:
        return self.people[role]


def demo_site() -> Site:
    """Load the demo organisation and pick one person of every role (creating one for a
    role the demo has nobody in). Everyone's password becomes PASSWORD."""
    demo()  # loaded once a module, then copied back (tests/demo_snapshot.py)
    site = Site()
    for role in Role.values:
        person = User.objects.filter(role=role, is_active=True).order_by("pk").first()
        if role == Role.REPORTER:
            # the reporter with the most incidents, so the portal has a resolved one
            person = (
                User.objects.filter(role=role, is_active=True)
                .annotate(n=Count("reported_incidents"))
                .order_by("-n", "pk")
                .first()
            )
        if person is None:
            person = user_create(
                username=f"a11y-{role}",
                email=f"a11y-{role}@example.com",
                name=f"A11y {role.title()}",
                role=role,
                password=PASSWORD,
                actor=Actor.system("a11y setup"),
            )
        site.people[role] = person
    User.objects.filter(pk__in=[p.pk for p in site.people.values()]).update(
        password=make_password(PASSWORD)
    )
    for person in site.people.values():
        person.refresh_from_db()
    return site


def _a_schedule() -> Schedule:
    """The demo's schedule with the most layers; without demo schedules, a small one with
    two layers (a business-hours restriction leaves gaps), an override and an open cover
    request, so the schedule page has every part to check."""
    found = (
        Schedule.objects.filter(archived_at__isnull=True)
        .annotate(n=Count("layers"))
        .order_by("-n", "pk")
        .first()
    )
    if found is not None and found.n:  # type: ignore[attr-defined]
        return found
    people = list(people_who_may(Action.INCIDENT_BE_ASSIGNED).order_by("pk")[:3])
    names = [p.username for p in people]
    actor = Actor.system("a11y setup")
    layers = specs.parse_layers(
        [
            {
                "name": "Business hours",
                "start": "2026-01-05T09:00",
                "rotation": "weekly",
                "users": names[:2],
                "restrictions": [
                    {"type": "weekly", "days": ["mon", "tue", "wed", "thu", "fri"]}
                    | {"start": "09:00", "end": "17:00"}
                ],
            },
            {"name": "Nights", "start": "2026-01-05T20:00", "rotation": "daily", "users": names}
            | {"restrictions": [{"type": "daily", "start": "20:00", "end": "08:00"}]},
        ]
    )
    schedule = oncall_services.schedule_create(
        name="A11y rotation", time_zone="Europe/Berlin", layers=layers, actor=actor
    )
    start = now().replace(minute=0, second=0, microsecond=0)
    oncall_services.override_create(
        schedule=schedule,
        user=people[-1],
        start=start + dt.timedelta(days=1),
        end=start + dt.timedelta(days=1, hours=6),
        note="Swap",
        actor=actor,
    )
    shifts = oncall_selectors.shifts(schedule, start, start + dt.timedelta(days=7))
    if shifts:
        oncall_services.cover_request_create(
            schedule=schedule,
            requester=User.objects.get(pk=shifts[0].user),
            start=shifts[0].start,
            end=shifts[0].end,
            note="Away",
            actor=actor,
        )
    return schedule


def _incident_url(incident: Incident) -> str:
    return reverse("incident", args=[incident.ref])


def _status_page_targets() -> list[Target]:
    """The public status page (signed out): the page, a published incident's page, the
    subscribe form, and a subscriber's confirm and unsubscribe pages when there is one."""
    from tocsin.comms.models import PublicIncident, StatusSubscriber
    from tocsin.comms.subscriptions import confirm_url

    found = [
        Target("status-page", "public status page", reverse("status-page")),
        Target("status-subscribe", "status page: subscribe", reverse("status-subscribe")),
    ]
    published = PublicIncident.objects.filter(published_at__isnull=False).order_by("pk").first()
    if published is not None:
        found.append(
            Target(
                "status-public-incident",
                "status page: an incident",
                reverse("status-public-incident", args=[published.pk]),
            )
        )
    sub = StatusSubscriber.objects.filter(unsubscribed_at__isnull=True).order_by("pk").first()
    if sub is not None:
        link = confirm_url(sub)
        found.append(
            Target(
                "status-subscribe-confirm",
                "status page: confirm a subscription",
                link[link.index("/status/") :],
            )
        )
        found.append(
            Target(
                "status-unsubscribe",
                "status page: unsubscribe",
                reverse("status-unsubscribe", args=[sub.token]),
            )
        )
    return found


def targets(site: Site, role: str | None) -> list[Target]:
    """What a person of `role` (None: signed out) is to be checked on."""
    if role is None:
        found = [
            Target("login", "sign-in page", reverse("login")),
            Target("admin-login", "admin sign-in page", reverse("admin-login")),
            Target("not-found", "404 page (signed out)", "/no-such-page/"),
        ]
        resolved = (
            Incident.objects.filter(status=Status.RESOLVED, reporter__isnull=False)
            .order_by("pk")
            .first()
        )
        if resolved is not None:
            token = confirmation_token(resolved)
            found.append(
                Target(
                    "confirm-link",
                    "reporter's signed confirm link",
                    reverse("confirm-link", args=[resolved.ref, token]),
                )
            )
        pages = Page.objects.exclude(escalation__state="responders")
        found += _status_page_targets()
        page = (
            pages.filter(incident__status=Status.NEW).order_by("-pk").first()
            or pages.order_by("-pk").first()
        )
        if page is not None:
            found.append(
                Target(
                    "page-link",
                    "signed page link (one button)",
                    reverse("page-link", args=[page_token(page.pk, "acknowledge")]),
                )
            )
        found.extend(unsubscribe_targets())
        asked = (
            Page.objects.filter(responder_ask__state="pending")
            .exclude(incident__status__in=[Status.RESOLVED, Status.CLOSED])
            .first()
        )
        if asked is not None:
            found.append(
                Target(
                    "page-link",
                    "responder page link (Accept / Decline)",
                    reverse("page-link", args=[page_token(asked.pk, "respond")]),
                )
            )
        return found

    user = site.person(role)
    found = [Target(name, name, url) for name, url in SIMPLE_PAGES.items()]
    found.append(Target("not-found", "404 page", "/incidents/INC-99999999/"))
    if can(user, Action.DESK_VIEW):
        open_alerted = (
            Incident.objects.filter(alerts__isnull=False, status__in=[Status.ACKNOWLEDGED])
            .order_by("pk")
            .first()
            or Incident.objects.filter(alerts__isnull=False).order_by("pk").first()
        )
        picks = {
            "incident from alerts": open_alerted,
            "new incident": Incident.objects.filter(status=Status.NEW).order_by("-pk").first(),
            "incident in progress": Incident.objects.filter(status=Status.IN_PROGRESS)
            .order_by("-pk")
            .first(),
            "resolved incident": Incident.objects.filter(status=Status.RESOLVED)
            .order_by("-pk")
            .first(),
            "closed incident": Incident.objects.filter(status=Status.CLOSED)
            .order_by("-pk")
            .first(),
            "merged (duplicate) incident": Incident.objects.filter(duplicate_of__isnull=False)
            .order_by("-pk")
            .first(),
        }
        for label, incident in picks.items():
            if incident is not None:
                found.append(Target("incident", label, _incident_url(incident)))
        open_incident = picks["incident in progress"] or picks["new incident"]
        if open_incident is not None:
            compose = reverse("incident-update-compose", args=[open_incident.ref])
            found.append(Target("incident-update-compose", "stakeholder update form", compose))
        team = Team.objects.order_by("pk").first()
        if team is not None:
            team_url = reverse("reports-team", args=[team.pk])
            found.append(Target("reports-team", "a team's reports page", team_url))
        service = (
            Service.objects.annotate(n=Count("integrations")).order_by("-n", "pk").first()
            or Service.objects.order_by("pk").first()
        )
        if service is not None:
            found.append(Target("service", "service", reverse("service", args=[service.pk])))
            if can(user, Action.INTEGRATION_MANAGE):
                new_url = reverse("integration-new", args=[service.pk])
                found.append(Target("integration-new", "new integration", new_url))
                found.append(
                    Target(
                        "integration-key",
                        "integration key (shown once)",
                        new_url,
                        form=(
                            new_url,
                            {"kind": "alertmanager", "name": "Accessibility check"},
                            "Create integration",
                        ),
                    )
                )
        alert = Alert.objects.order_by("pk").first()
        if alert is not None:
            found.append(Target("alert", "alert", reverse("alert", args=[alert.pk])))
        schedule = _a_schedule()
        url = reverse("schedule", args=[schedule.pk])
        found.append(Target("schedule", "schedule (this week)", url))
        found.append(
            Target(
                "schedule",
                "schedule, a span picked for an override",
                f"{url}?start=2030-01-07T08:00&end=2030-01-07T20:00&week=2030-01-07",
            )
        )
    else:
        mine = Incident.objects.filter(reporter=user)
        for label, incident in {
            "own open incident": mine.exclude(status__in=[Status.RESOLVED, Status.CLOSED])
            .order_by("-pk")
            .first(),
            "own resolved incident": mine.filter(status=Status.RESOLVED).order_by("-pk").first(),
            "own closed incident": mine.filter(status=Status.CLOSED).order_by("-pk").first(),
        }.items():
            if incident is not None:
                found.append(Target("incident", label, _incident_url(incident)))
        other = Incident.objects.exclude(reporter=user).order_by("pk").first()
        if other is not None:
            found.append(Target("incident", "someone else's incident (404)", _incident_url(other)))
    if can(user, Action.SCHEDULE_VIEW):
        feeds_url = reverse("calendar-feeds")
        found.append(
            Target(
                "calendar-feeds",
                "new calendar address (shown once)",
                feeds_url,
                form=(feeds_url, {}, "Create address"),
            )
        )
    found.extend(schedule_editor_targets(user))
    found.extend(policy_targets(user))
    found.extend(paging_targets(user))
    found.extend(automation_targets(user))
    found.extend(problem_targets(user))
    found.extend(action_item_targets())
    found.extend(runbook_targets(user))
    found.extend(status_admin_targets())
    found.extend(article_targets(user))
    found.extend(postmortem_targets())
    if can(user, Action.CONFIG_MANAGE):
        found.extend(admin_targets(user))
    return found


def article_targets(user: User) -> list[Target]:
    """The knowledge base's pages about one article (the demo's articles are written if
    the data has none): a public one with its history, an older version, the edit form;
    an internal one (404 for a reporter)."""
    from tocsin.demo.learning_articles import write_articles
    from tocsin.learning.models import Article

    if not Article.objects.exists():
        write_articles()
    found = []
    public = Article.objects.filter(visibility="public").order_by("-version", "pk").first()
    internal = Article.objects.filter(visibility="internal").order_by("pk").first()
    if public is not None:
        found.append(
            Target("kb-article", "public article", reverse("kb-article", args=[public.pk]))
        )
        found.append(
            Target("kb-version", "an older version", reverse("kb-version", args=[public.pk, 1]))
        )
        found.append(Target("kb-edit", "article editor", reverse("kb-edit", args=[public.pk])))
    if internal is not None:
        label = "internal article" if can(user, Action.ARTICLE_EDIT) else "internal article (404)"
        found.append(Target("kb-article", label, reverse("kb-article", args=[internal.pk])))
    return found


def postmortem_targets() -> list[Target]:
    """A postmortem's page, its editor and print page, and a template's editor (404 for
    whoever may not see them); one is drafted if the data has none."""
    from tocsin.learning import postmortems
    from tocsin.learning.models import Postmortem, PostmortemTemplate

    postmortem = Postmortem.objects.order_by("pk").first()
    if postmortem is None:
        incident = Incident.objects.filter(status=Status.RESOLVED).order_by("pk").first()
        if incident is None:
            return []
        postmortem = postmortems.postmortem_create(
            incident=incident, actor=Actor.system("a11y setup")
        )
    found = [
        Target("postmortem", "postmortem", reverse("postmortem", args=[postmortem.pk])),
        Target(
            "postmortem-edit", "postmortem editor", reverse("postmortem-edit", args=[postmortem.pk])
        ),
        Target(
            "postmortem-print",
            "postmortem, print-ready",
            reverse("postmortem-print", args=[postmortem.pk]),
        ),
    ]
    template = PostmortemTemplate.objects.order_by("pk").first()
    if template is not None:
        url = reverse("settings-postmortem-template", args=[template.pk])
        found.append(Target("settings-postmortem-template", "postmortem template editor", url))
    return found


def unsubscribe_targets() -> list[Target]:
    """The signed unsubscribe link of an outside subscriber (one is added if none)."""
    from tocsin.comms.models import Subscription
    from tocsin.comms.updates import unsubscribe_token

    incident = Incident.objects.order_by("pk").first()
    if incident is None:
        return []
    subscription, _ = Subscription.objects.get_or_create(
        incident=incident, email="stakeholder@example.com"
    )
    url = reverse("updates-unsubscribe", args=[unsubscribe_token(subscription)])
    return [Target("updates-unsubscribe", "unsubscribe link (asks to confirm)", url)]


def action_item_targets() -> list[Target]:
    """An action item's page (one is added to the first incident when the demo has none)."""
    from tocsin.learning.action_items import action_item_create
    from tocsin.learning.models import ActionItem

    item = ActionItem.objects.order_by("pk").first()
    if item is None:
        incident = Incident.objects.order_by("pk").first()
        if incident is None:
            return []
        item = action_item_create(
            actor=Actor.system("a11y setup"), incident=incident, title="Accessibility check"
        )
    return [Target("action-item", "action item", reverse("action-item", args=[item.pk]))]


def automation_targets(user: User) -> list[Target]:
    """The automation webhook pages (comms/automation_urls.py): a webhook (one is made,
    global, if the data has none), its edit form, and the new-webhook form submitted (the
    secret shown once); for a person who may not manage it, its 404."""
    from tocsin.comms import automation
    from tocsin.comms.models import AutomationWebhook

    everyone = list(AutomationWebhook.objects.select_related("service").order_by("pk"))
    webhook = next(
        (w for w in everyone if automation.may_manage(user, w.service)),
        everyone[0] if everyone else None,
    )
    if webhook is None:
        webhook, _ = automation.automation_webhook_create(
            actor=Actor.system("a11y setup"),
            name="Accessibility webhook",
            service=None,
            url="https://hooks.example.com/tocsin",
            events=["created", "resolved"],
        )
    url = reverse("automation-webhook", args=[webhook.pk])
    if not automation.may_manage(user, webhook.service):
        return [Target("automation-webhook", "automation webhook (404)", url)]
    new_url = reverse("automation-webhook-new")
    return [
        Target("automation-webhook", "automation webhook with its delivery log", url),
        Target(
            "automation-webhook-edit",
            "automation webhook editor",
            reverse("automation-webhook-edit", args=[webhook.pk]),
        ),
        Target(
            "automation-webhook-new",
            "automation webhook created (secret shown once)",
            new_url,
            form=(
                new_url,
                {"name": "Accessibility check", "url": "https://hooks.example.com/a11y"},
                "Create webhook",
            ),
        ),
    ]


def problem_targets(user: User) -> list[Target]:
    """A problem's page and its edit form (a known error is made if the data has none),
    and an incident whose page offers that known error (404 pages for a reporter)."""
    from tocsin.learning import problems
    from tocsin.learning.models import Problem, ProblemStatus

    problem = Problem.objects.filter(status=ProblemStatus.KNOWN_ERROR).order_by("pk").first()
    if problem is None:
        incident = Incident.objects.order_by("pk").first()
        made = problems.problem_create(
            actor=Actor.system("a11y setup"),
            title="Accessibility known error",
            service=incident.service if incident else None,
            category=incident.category if incident else None,
        )
        problem = problems.problem_transition(
            problem=made,
            actor=Actor.system("a11y setup"),
            status=ProblemStatus.KNOWN_ERROR,
            workaround="Restart the **widget**.",
        )
    found = [
        Target("problem", "problem (a known error)", reverse("problem", args=[problem.ref])),
        Target("problem-edit", "problem editor", reverse("problem-edit", args=[problem.ref])),
    ]
    if problems.may_view(user):
        match = (
            Incident.objects.filter(service=problem.service, category=problem.category)
            .exclude(problems=problem)
            .order_by("-pk")
            .first()
        )
        if match is not None:
            url = _incident_url(match)
            found.append(Target("incident", "incident offered a known error", url))
    return found


def runbook_targets(user: User) -> list[Target]:
    """The runbook pages (learning/runbook_urls.py): a runbook (one is made if the data has
    none) and, for its editors, its edit form; for a reporter, its 404."""
    from tocsin.learning import runbooks
    from tocsin.learning.models import Runbook

    runbook = Runbook.objects.order_by("pk").first()
    if runbook is None:
        runbook = runbooks.runbook_create(
            actor=Actor.system("a11y setup"),
            name="Accessibility runbook",
            description="When **something** breaks.",
            steps=[
                runbooks.StepSpec("Look at the dashboard", "The `p99` panel."),
                runbooks.StepSpec("Collect diagnostics", url="https://diag.example.com/run"),
            ],
        )
    url = reverse("runbook", args=[runbook.pk])
    if not runbooks.may_view(user):
        return [Target("runbook", "runbook (404)", url)]
    found = [Target("runbook", "runbook with its steps", url)]
    if runbooks.may_manage(user):
        found.append(
            Target("runbook-edit", "runbook editor", reverse("runbook-edit", args=[runbook.pk]))
        )
    return found


def status_admin_targets() -> list[Target]:
    """The status-page administration's pages about one object (404 for non-staff)."""
    found = []
    component = Component.objects.order_by("pk").first()
    if component is not None:
        url = reverse("status-component", args=[component.pk])
        found.append(Target("status-component", "status page component", url))
    group = ComponentGroup.objects.order_by("pk").first()
    if group is not None:
        url = reverse("status-group", args=[group.pk])
        found.append(Target("status-group", "status page component group", url))
    public = PublicIncident.objects.order_by("pk").first()
    if public is not None:
        url = reverse("status-incident", args=[public.pk])
        found.append(Target("status-incident", "public incident", url))
    window = MaintenanceWindow.objects.order_by("pk").first()
    if window is not None:
        url = reverse("status-maintenance-new") + f"?window={window.pk}"
        found.append(Target("status-maintenance-new", "mark a window public", url))
    maintenance = PublicMaintenance.objects.order_by("pk").first()
    if maintenance is not None:
        url = reverse("status-maintenance", args=[maintenance.pk])
        found.append(Target("status-maintenance", "public maintenance", url))
    return found


def schedule_editor_targets(user: User) -> list[Target]:
    """The schedule editor (oncall/editor_urls.py) for a person who may edit a schedule:
    a schedule of theirs (one is made for a team they manage if the data has none), its
    editor as saved, refused, and with a window added; its archive confirmation. For
    everyone else: the editor's 404."""
    new_url = reverse("schedule-new")
    schedule = next(
        (
            s
            for s in Schedule.objects.filter(archived_at__isnull=True).order_by("pk")
            if can(user, Action.SCHEDULE_EDIT, s)
        ),
        None,
    )
    if schedule is None and can(user, Action.SCHEDULE_CREATE):
        schedule = _editor_schedule(user)
    if schedule is None:
        other = Schedule.objects.order_by("pk").first()
        if other is None:
            return []
        return [
            Target(
                "schedule-edit", "schedule editor (404)", reverse("schedule-edit", args=[other.pk])
            )
        ]
    edit_url = reverse("schedule-edit", args=[schedule.pk])
    return [
        Target("schedule-edit", "schedule editor with its preview", edit_url),
        Target(
            "schedule-edit",
            "schedule editor, refused",
            edit_url,
            form=(edit_url, {"time_zone": "Mars/Olympus"}, "Preview"),
        ),
        Target(
            "schedule-new",
            "new schedule with a restriction window",
            new_url,
            form=(new_url, {}, "Add a window to layer 1"),
        ),
        Target(
            "schedule-archive",
            "archive confirmation",
            reverse("schedule-archive", args=[schedule.pk]),
        ),
    ]


def policy_targets(user: User) -> list[Target]:
    """The escalation policy pages (escalation/ui_urls.py): a policy (one is made if the
    data has none), its editor as saved, refused and with a level added, its archive
    confirmation; for a person who may not edit it, the editor's 404."""
    policy = EscalationPolicy.objects.filter(archived_at__isnull=True).order_by("pk").first()
    if policy is None:
        schedule = _a_schedule()
        policy = policy_create(
            actor=Actor.system("a11y setup"),
            name="Accessibility policy",
            repeat=1,
            levels=[
                {"delay_minutes": 5, "targets": [{"type": "schedule", "id": schedule.pk}]},
                {
                    "delay_minutes": 10,
                    "mode": "round_robin",
                    "targets": [
                        {"type": "user", "id": u}
                        for u in people_who_may(Action.INCIDENT_BE_ASSIGNED)
                        .order_by("pk")
                        .values_list("username", flat=True)[:2]
                    ],
                },
            ],
        )
    found = [
        Target(
            "escalation-policy", "escalation policy", reverse("escalation-policy", args=[policy.pk])
        )
    ]
    edit_url = reverse("escalation-policy-edit", args=[policy.pk])
    if not can(user, Action.POLICY_EDIT, policy):
        found.append(Target("escalation-policy-edit", "policy editor (404)", edit_url))
        return found
    new_url = reverse("escalation-policy-new")
    return [
        *found,
        Target("escalation-policy-edit", "policy editor as saved", edit_url),
        Target(
            "escalation-policy-edit",
            "policy editor, refused",
            edit_url,
            form=(edit_url, {"name": ""}, "Save policy"),
        ),
        Target(
            "escalation-policy-new",
            "new policy with a second level",
            new_url,
            form=(new_url, {}, "Add a level"),
        ),
        Target(
            "escalation-policy-archive",
            "policy archive confirmation",
            reverse("escalation-policy-archive", args=[policy.pk]),
        ),
    ]


def paging_targets(user: User) -> list[Target]:
    """The paging page (notify/paging_views.py) with a working and a failed contact
    method, its add form refused, and someone else's paging page (an administrator's
    view of it, or the 404 everyone else gets)."""
    targets_: list[Target] = []
    if can(user, Action.CONTACT_MANAGE, user):
        if not ContactMethod.objects.filter(user=user, disabled_at__isnull=True).exists():
            actor = Actor.system("a11y setup")
            contact_method_add(
                user=user, kind="email", address=user.email or "a11y@example.com", actor=actor
            )
            failed = contact_method_add(
                user=user, kind="sms", address="+441632960000", label="Work phone", actor=actor
            )
            ContactMethod.objects.filter(pk=failed.pk).update(
                last_delivery_ok=False, last_delivery_at=now(), last_error="provider said 21211"
            )
        url = reverse("paging-mine")
        # the browser opens the page and sends the form (to paging-contact-add); the
        # duplicate-id check, which POSTs to the page itself, gets a 405 and skips it
        targets_.append(
            Target(
                "paging-mine",
                "paging page, a contact method refused",
                url,
                form=(
                    url,
                    {"add-address": "not an address", "add-password": PASSWORD},
                    "Add contact method",
                ),
            )
        )
    other = User.objects.exclude(pk=user.pk).filter(is_active=True).order_by("pk").first()
    if other is not None:
        label = "someone's paging page" if can(user, Action.CONTACT_MANAGE, other) else "(404)"
        targets_.append(
            Target("paging-person", label, reverse("paging-person", args=[other.username]))
        )
    return targets_


def _editor_schedule(user: User) -> Schedule | None:
    """A schedule `user` may edit: for a team they manage (any team, or none, for an
    administrator), with two layers and windows."""
    team = Team.objects.filter(manager=user).order_by("pk").first()
    if team is None and not can(user, Action.CONFIG_MANAGE):
        return None
    people = list(
        people_who_may(Action.INCIDENT_BE_ASSIGNED)
        .order_by("pk")
        .values_list("username", flat=True)[:3]
    )
    layers = specs.parse_layers(
        [
            {
                "name": "Business hours",
                "start": "2026-01-05T09:00",
                "rotation": "weekly",
                "users": people[:2],
                "restrictions": [
                    {"type": "weekly", "days": ["mon", "fri"], "start": "09:00", "end": "17:00"}
                ],
            },
            {
                "name": "Nights",
                "start": "2026-01-05T20:00",
                "rotation": "daily",
                "users": people,
                "restrictions": [{"type": "daily", "start": "20:00", "end": "08:00"}],
            },
        ]
    )
    return schedule_create(
        name=f"Accessibility rota ({user.username})",
        time_zone="Europe/Berlin",
        team=team,
        layers=layers,
        actor=Actor.system("a11y setup"),
    )


def admin_targets(user: User) -> list[Target]:
    """The admin's index, each app's page and each registered model's list, add and
    (for its first object) change page, as far as the model's admin lets `user` in."""
    request = RequestFactory().get("/admin/")
    request.user = user
    found = [Target("admin:index", "admin index", reverse("admin:index"))]
    apps = set()
    for model, model_admin in sorted(
        admin.site._registry.items(), key=lambda item: item[0]._meta.label
    ):
        meta = model._meta
        if meta.app_label not in apps:
            apps.add(meta.app_label)
            found.append(
                Target(
                    "admin:app_list",
                    f"admin: {meta.app_label}",
                    reverse("admin:app_list", args=[meta.app_label]),
                )
            )
        base = f"admin:{meta.app_label}_{meta.model_name}"
        if not model_admin.has_view_or_change_permission(request):
            continue
        found.append(
            Target(f"{base}_changelist", f"admin: {meta.label} list", reverse(f"{base}_changelist"))
        )
        if model_admin.has_add_permission(request):
            found.append(Target(f"{base}_add", f"admin: add {meta.label}", reverse(f"{base}_add")))
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            found.append(
                Target(
                    f"{base}_change",
                    f"admin: change {meta.label}",
                    reverse(f"{base}_change", args=[first.pk]),
                )
            )
    return found


def all_roles() -> list[str | None]:
    """Every role of accounts.models.Role, and None for signed out."""
    return [None, *Role.values]


__all__ = [
    "NOT_PAGES",
    "PASSWORD",
    "SIMPLE_PAGES",
    "Site",
    "Target",
    "all_roles",
    "demo_site",
    "routes",
    "stale_entries",
    "targets",
    "uncovered_routes",
]
