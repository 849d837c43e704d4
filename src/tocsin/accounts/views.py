"""Signing in and out."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import views as auth_views
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from tocsin.accounts import services
from tocsin.accounts.forms import SignInForm
from tocsin.accounts.permissions import Action, can
from tocsin.core.actors import Actor, client_ip


class SignInView(auth_views.LoginView):
    """Django's login, throttled per (username, address) and per address (see
    accounts.services.signin_*); every sign-in, failed sign-in and refused attempt goes to
    the audit log. Afterwards staff go to the queue and reporters to their portal."""

    template_name = "registration/login.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True

    def get_default_redirect_url(self) -> str:
        user = self.request.user
        return reverse("queue") if can(user, Action.DESK_VIEW) else reverse("portal")

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        username = str(request.POST.get("username", ""))[:150]
        request_id = str(getattr(request, "request_id", ""))
        actor = Actor.anonymous(username, request_id=request_id, ip=client_ip(request))
        refusal = services.signin_refusal(username=username, ip=actor.ip)
        if refusal is not None:
            services.signin_throttled(username=username, actor=actor, refusal=refusal)
            return self._refused(username, refusal.message)
        form = self.get_form()
        if form.is_valid():
            user = form.get_user()
            services.signin_succeeded(user=user, actor=Actor.for_user(user, request_id, actor.ip))
            return self.form_valid(form)
        if any(error.code == "invalid_login" for error in form.errors.as_data().get("__all__", [])):
            refusal = services.signin_failed(username=username, actor=actor)
            if refusal is not None:
                return self._refused(username, refusal.message)
        return self.form_invalid(form)

    def _refused(self, username: str, message: str) -> HttpResponse:
        """The sign-in page again, saying why and for how long (the password unchecked)."""
        response = self.form_invalid(RefusedSignInForm(self.request, username, message))
        response.status_code = 429
        return response


class RefusedSignInForm(SignInForm):
    """The sign-in form for an attempt refused by the throttle: its only error is the
    refusal, and it never checks the password (AuthenticationForm.clean would)."""

    def __init__(self, request: HttpRequest, username: str, message: str) -> None:
        super().__init__(request, data={"username": username, "password": "-"})
        self.refusal = message

    def clean(self) -> dict[str, Any]:
        raise ValidationError(self.refusal, code="throttled")


class SignOutView(auth_views.LogoutView):
    """Django's logout (POST only)."""
