"""Signing in and out."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import reverse

from tocsin.accounts.forms import SignInForm
from tocsin.accounts.permissions import Action, can


class SignInView(auth_views.LoginView):
    """Django's login; afterwards staff go to the queue and reporters to their portal."""

    template_name = "registration/login.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True

    def get_default_redirect_url(self) -> str:
        user = self.request.user
        return reverse("queue") if can(user, Action.DESK_VIEW) else reverse("portal")


class SignOutView(auth_views.LogoutView):
    """Django's logout (POST only)."""
