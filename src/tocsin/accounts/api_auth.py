"""Who is calling the REST API: an API token (`Authorization: Bearer <token>`) or a
signed-in browser session.

Each authenticator sets `request.actor` (read with `tocsin.core.api.actor_from_request`)
and returns the person, which ninja keeps as `request.auth` (`user_from_request`).
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth

from tocsin.accounts.models import User
from tocsin.accounts.selectors import token_authenticate
from tocsin.core.actors import Actor, client_ip


def _request_id(request: HttpRequest) -> str:
    return str(getattr(request, "request_id", ""))


class BearerToken(HttpBearer):
    """`Authorization: Bearer <token>`: an API token of an active person."""

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        token = token.strip()
        if not token or len(token) > 200 or not token.isascii() or not token.isprintable():
            return None
        api_token = token_authenticate(token)
        if api_token is None:
            return None
        request.actor = Actor.for_token(api_token, _request_id(request), client_ip(request))  # type: ignore[attr-defined]
        return api_token.user


class DjangoSession(SessionAuth):
    """A signed-in browser session (the web UI); CSRF is checked for unsafe methods."""

    def __call__(self, request: HttpRequest) -> User | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.is_active:
            return None  # no session: let the 401 say so, rather than a CSRF 403
        return super().__call__(request)

    def authenticate(self, request: HttpRequest, key: str | None) -> User | None:
        user = request.user
        request.actor = Actor.for_user(user, _request_id(request), client_ip(request))  # type: ignore[attr-defined]
        return user  # type: ignore[return-value]


AUTH = [BearerToken(), DjangoSession()]
"""The API's authenticators, in the order ninja tries them."""


def user_from_request(request: HttpRequest) -> User:
    """The person an authenticated API request is from."""
    user: User = request.auth  # type: ignore[attr-defined]
    return user
