"""The web UI's routes."""

from __future__ import annotations

from django.urls import path

from tocsin.accounts import audit_views
from tocsin.accounts import views as account_views
from tocsin.comms import update_views
from tocsin.core import theme
from tocsin.escalation import (
    delivery_views,
    hierarchy_views,
    home_views,
    link_views,
    responder_views,
)
from tocsin.escalation import incident_views as paging_views
from tocsin.incidents import (
    config_views,
    portal_views,
    queue_views,
    response_views,
    timeline_views,
    views,
)

urlpatterns = [
    path("login/", account_views.SignInView.as_view(), name="login"),
    path("logout/", account_views.SignOutView.as_view(), name="logout"),
    path("settings/", config_views.settings_index, name="settings"),
    path("settings/priority-matrix/", config_views.priority_matrix_page, name="settings-matrix"),
    path("settings/sla-targets/", config_views.sla_targets_page, name="settings-sla"),
    path("settings/audit/", audit_views.audit_log, name="audit-log"),
    path(
        "settings/escalation/",
        hierarchy_views.escalation_settings,
        name="settings-escalation",
    ),
    path("settings/roles/", response_views.roles_settings, name="settings-roles"),
    path("settings/roles/<int:role_id>/", response_views.role_settings, name="settings-role"),
    path("deliveries/", delivery_views.delivery_log_page, name="deliveries"),
    path("theme/", theme.theme_set, name="theme"),
    path("", queue_views.queue, name="queue"),
    path("home/", home_views.home, name="home"),
    path("p/<str:token>/", link_views.page_link, name="page-link"),
    path("queue/rows/", queue_views.queue_rows, name="queue-rows"),
    path("queue/views/", queue_views.queue_view_save, name="queue-view-save"),
    path(
        "queue/views/<int:view_id>/delete/",
        queue_views.queue_view_delete,
        name="queue-view-delete",
    ),
    path("portal/", portal_views.portal, name="portal"),
    path("portal/<str:ref>/confirm/", portal_views.portal_confirm, name="portal-confirm"),
    path("incidents/new/", views.incident_new, name="incident-new"),
    path("incidents/<str:ref>/", views.incident_detail, name="incident"),
    path("incidents/<str:ref>/live/", views.incident_live, name="incident-live"),
    path("incidents/<str:ref>/act/<str:action>/", views.incident_action, name="incident-act"),
    path("incidents/<str:ref>/mitigate/", views.incident_mitigate, name="incident-mitigate"),
    path("incidents/<str:ref>/triage/", views.incident_triage, name="incident-triage"),
    path("incidents/<str:ref>/assign/", views.incident_assign, name="incident-assign"),
    path("incidents/<str:ref>/assign/me/", views.incident_take, name="incident-take"),
    path("incidents/<str:ref>/escalate/", views.incident_escalate, name="incident-escalate"),
    path("incidents/<str:ref>/merge/", views.incident_merge, name="incident-merge"),
    path("incidents/<str:ref>/notes/", views.incident_note, name="incident-note"),
    path("incidents/<str:ref>/attachments/", views.incident_attach, name="incident-attach"),
    path(
        "incidents/<str:ref>/attachments/<int:attachment_id>/",
        views.attachment_download,
        name="attachment",
    ),
    path(
        "incidents/<str:ref>/timeline/<int:entry_id>/redact/",
        views.timeline_redact,
        name="timeline-redact",
    ),
    path(
        "incidents/<str:ref>/timeline/<int:entry_id>/pin/",
        timeline_views.timeline_pin,
        name="timeline-pin",
    ),
    path(
        "incidents/<str:ref>/timeline/view/",
        timeline_views.timeline_view,
        name="incident-timeline-view",
    ),
    path("incidents/<str:ref>/confirm/", views.incident_confirm, name="incident-confirm"),
    path("incidents/<str:ref>/paging/page/", paging_views.page_now_view, name="incident-page-now"),
    path(
        "incidents/<str:ref>/paging/escalate-now/",
        paging_views.escalate_now_view,
        name="incident-page-escalate",
    ),
    path(
        "incidents/<str:ref>/paging/reassign/",
        paging_views.reassign_view,
        name="incident-page-reassign",
    ),
    path(
        "incidents/<str:ref>/notify-management/",
        hierarchy_views.incident_notify_management,
        name="incident-notify-management",
    ),
    path("incidents/<str:ref>/confirm/<str:token>/", views.confirm_link, name="confirm-link"),
    # stakeholder updates (comms/update_views.py)
    path(
        "incidents/<str:ref>/updates/",
        update_views.update_compose,
        name="incident-update-compose",
    ),
    path(
        "incidents/<str:ref>/updates/subscribe-me/",
        update_views.subscribe_me,
        name="incident-update-subscribe-me",
    ),
    path(
        "incidents/<str:ref>/updates/subscribers/",
        update_views.subscriber_add,
        name="incident-update-subscriber-add",
    ),
    path(
        "incidents/<str:ref>/updates/subscribers/<int:subscription_id>/remove/",
        update_views.subscriber_remove,
        name="incident-update-subscriber-remove",
    ),
    path(
        "settings/update-templates/",
        update_views.templates_page,
        name="settings-update-templates",
    ),
    path(
        "updates/unsubscribe/<str:token>/",
        update_views.unsubscribe_view,
        name="updates-unsubscribe",
    ),
    # responders (issue 11)
    path(
        "incidents/<str:ref>/responders/",
        responder_views.responders_add_view,
        name="incident-responders-add",
    ),
    path(
        "incidents/<str:ref>/responders/<int:ask_id>/answer/",
        responder_views.responder_answer_view,
        name="incident-responder-answer",
    ),
    path(
        "incidents/<str:ref>/roles/",
        response_views.role_assign_view,
        name="incident-role-assign",
    ),
    path(
        "incidents/<str:ref>/roles/<str:role_key>/release/",
        response_views.role_release_view,
        name="incident-role-release",
    ),
    path(
        "incidents/<str:ref>/participants/",
        response_views.participant_add_view,
        name="incident-participant-add",
    ),
    path("incidents/<str:ref>/war-room/", response_views.war_room_view, name="incident-war-room"),
]
