from django.urls import path

from tocsin.learning import hub_views

urlpatterns = [path("learning/", hub_views.hub, name="learning")]
