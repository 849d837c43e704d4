"""The on-call pages (views.py): schedules, a schedule's timeline and its forms, who is on
call now, my shifts. The layer editor's routes (/schedules/new/, /schedules/<id>/edit/)
are in editor_urls.py."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from tocsin.oncall import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("schedules/", views.schedule_list, name="schedules"),
    path("schedules/<int:schedule_id>/", views.schedule_detail, name="schedule"),
    path(
        "schedules/<int:schedule_id>/overrides/",
        views.override_create,
        name="schedule-override-create",
    ),
    path(
        "schedules/<int:schedule_id>/overrides/<int:override_id>/delete/",
        views.override_delete,
        name="schedule-override-delete",
    ),
    path("schedules/<int:schedule_id>/cover/", views.cover_create, name="schedule-cover-create"),
    path(
        "schedules/<int:schedule_id>/cover/<int:request_id>/accept/",
        views.cover_accept,
        name="schedule-cover-accept",
    ),
    path(
        "schedules/<int:schedule_id>/cover/<int:request_id>/withdraw/",
        views.cover_withdraw,
        name="schedule-cover-withdraw",
    ),
    path("oncall/", views.oncall_now, name="oncall"),
    path("oncall/mine/", views.my_shifts, name="oncall-mine"),
]
