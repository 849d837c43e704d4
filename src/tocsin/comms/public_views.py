"""The public status page's views (no sign-in, no staff chrome): the cached documents
(comms/public.py) and the subscription forms (comms/subscriptions.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_safe

from tocsin.comms import public, subscriptions
from tocsin.comms.models import Component, SubscriberKind
from tocsin.comms.services import status_page
from tocsin.core.actors import client_ip


@require_safe
def page(request: HttpRequest) -> HttpResponse:
    return public.serve(request, "page")


@require_safe
def incident(request: HttpRequest, pk: int) -> HttpResponse:
    return public.serve(request, "incident", str(pk))


@require_safe
def brand_css(request: HttpRequest) -> HttpResponse:
    return public.serve(request, "brand.css")


@require_safe
def feed_atom(request: HttpRequest) -> HttpResponse:
    return public.serve(request, "feed.atom")


@require_safe
def feed_rss(request: HttpRequest) -> HttpResponse:
    return public.serve(request, "feed.rss")


LOGO_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".svg": "image/svg+xml",
}


@require_safe
def logo(request: HttpRequest) -> HttpResponseBase:
    """The page's logo from storage (attachments are not served publicly otherwise). An
    SVG gets a policy that runs nothing in it, should it be opened on its own."""
    page_row = status_page()
    if not page_row.logo:
        raise Http404("No logo")
    suffix = Path(page_row.logo.name).suffix.lower()
    kind = LOGO_TYPES.get(suffix)
    if kind is None:
        raise Http404("No logo")
    try:
        handle = page_row.logo.open("rb")
    except OSError:
        raise Http404("No logo") from None
    response = FileResponse(handle, content_type=kind)
    response["Cache-Control"] = f"public, max-age={public.MAX_AGE}"
    if suffix == ".svg":
        response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response


def document(name: str) -> Callable[[HttpRequest], HttpResponse]:
    @require_safe
    def view(request: HttpRequest) -> HttpResponse:
        return public.serve(request, name)

    setattr(view, "fast_path", True)  # noqa: B010
    view.__name__ = "statuspage_" + name.replace("/", "_").replace(".", "_").replace("-", "_")
    view.__module__ = __name__
    return view


# Served by the fast path before sessions, authentication and CSRF (core/middleware.py):
# anonymous, read-only documents from the cache.
for _view in (page, incident, brand_css, feed_atom, feed_rss):
    setattr(_view, "fast_path", True)  # noqa: B010


def _context(**extra: object) -> dict[str, object]:
    return {"page": status_page(), **extra}


def _components() -> list[Component]:
    return sorted(
        Component.objects.filter(archived_at__isnull=True, showcase=True).select_related("group"),
        key=public.page_order,
    )


@require_http_methods(["GET", "POST"])
def subscribe(request: HttpRequest) -> HttpResponse:
    values: dict[str, object] = {"kind": SubscriberKind.EMAIL.value, "email": "", "url": ""}
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        chosen = request.POST.getlist("components")
        values = {
            "kind": request.POST.get("kind", SubscriberKind.EMAIL.value),
            "email": request.POST.get("email", ""),
            "url": request.POST.get("url", ""),
            "components": chosen,
        }
        try:
            ids = [int(c) for c in chosen]
        except ValueError:
            ids = [-1]
        try:
            subscriptions.subscribe(
                kind=str(values["kind"]),
                email=str(values["email"]),
                url=str(values["url"]),
                component_ids=ids,
                ip=client_ip(request),
            )
        except subscriptions.SubscribeError as exc:
            errors[exc.field] = exc.message
            status = 422
        except subscriptions.Throttled as exc:
            response = render(
                request,
                "comms/public_message.html",
                _context(
                    title="Too many requests",
                    message="Too many subscription requests. Try again later.",
                ),
                status=429,
            )
            response["Retry-After"] = str(exc.retry_after)
            return response
        else:
            return render(
                request,
                "comms/public_message.html",
                _context(
                    title="Check your mail",
                    message=(
                        "We sent a confirmation link to the address you gave. Nothing will "
                        "be sent until you confirm."
                    ),
                ),
            )
    return render(
        request,
        "comms/public_subscribe.html",
        _context(components=_components(), values=values, errors=errors),
        status=status,
    )


@require_http_methods(["GET", "POST"])
def subscribe_confirm(request: HttpRequest, signed: str) -> HttpResponse:
    sub = subscriptions.subscriber_for_confirmation(signed)
    if sub is None:
        return render(
            request,
            "comms/public_message.html",
            _context(
                title="Link not valid",
                message="This confirmation link is not valid or has expired. Subscribe again.",
            ),
            status=404,
        )
    if request.method == "POST":
        subscriptions.subscription_confirm(sub=sub)
        secret = subscriptions.webhook_secret(sub) if sub.kind == SubscriberKind.WEBHOOK else ""
        return render(
            request,
            "comms/public_message.html",
            _context(
                title="Subscription confirmed",
                message="You will receive updates from now on.",
                secret=secret,
                unsubscribe=subscriptions.unsubscribe_url(sub),
            ),
        )
    return render(request, "comms/public_confirm.html", _context(sub=sub))


@csrf_exempt  # RFC 8058: mail clients POST "List-Unsubscribe=One-Click" with no token
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    if request.method == "POST":
        sub = subscriptions.unsubscribe(token=token)
        if sub is None:
            return render(
                request,
                "comms/public_message.html",
                _context(title="Link not valid", message="This unsubscribe link is not valid."),
                status=404,
            )
        return render(
            request,
            "comms/public_message.html",
            _context(title="Unsubscribed", message="You will receive no more updates."),
        )
    known = subscriptions.StatusSubscriber.objects.filter(token=token).exists()
    return render(
        request,
        "comms/public_unsubscribe.html",
        _context(token=token, known=known),
        status=200 if known else 404,
    )
