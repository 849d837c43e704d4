"""A placeholder for a reports page under construction (removed when each lands)."""

from django.http import Http404, HttpRequest, HttpResponse


def not_yet(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise Http404("not yet")
