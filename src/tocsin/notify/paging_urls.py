"""Routes of the paging profile page (notify/paging_views.py)."""

from __future__ import annotations

from django.urls import path

from tocsin.notify import paging_views

_PERSON = "people/<str:username>/paging/"

urlpatterns = [
    path("me/paging/", paging_views.paging_mine, name="paging-mine"),
    path("people/", paging_views.people_list, name="people"),
    path(_PERSON, paging_views.paging_person, name="paging-person"),
    path(f"{_PERSON}contact-methods/", paging_views.contact_add, name="paging-contact-add"),
    path(
        f"{_PERSON}contact-methods/<int:method_id>/remove/",
        paging_views.contact_remove,
        name="paging-contact-remove",
    ),
    path(
        f"{_PERSON}contact-methods/<int:method_id>/test/",
        paging_views.contact_test,
        name="paging-contact-test",
    ),
    path(f"{_PERSON}rules/", paging_views.rules_save, name="paging-rules"),
    path(f"{_PERSON}preferences/", paging_views.preferences_save, name="paging-preferences"),
]
