"""The knowledge base on the web: /kb/ (search box and list), an article's page with its
history and any older version, the edit form (staff), archive/restore (staff), the JSON
suggestions the new-incident forms ask for while someone types, and "this article solved
it" on an incident.

Reporters use the same pages and see public articles only (everything else is a 404).
The incident page's "Knowledge base" section and the suggestion box under a new
incident's description are added through `tocsin.incidents.hooks` (`register()`, called
from learning/wiring.py).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tocsin.accounts.models import User
from tocsin.catalog.models import Category, Service
from tocsin.core.actors import Actor
from tocsin.core.errors import Invalid, NotFound, TocsinError
from tocsin.core.web import apply_error, error_page, sentence
from tocsin.incidents import hooks as incident_hooks
from tocsin.incidents.hooks import PageSection
from tocsin.incidents.models import Incident
from tocsin.incidents.selectors import access_incident
from tocsin.learning import article_selectors as sel
from tocsin.learning import articles
from tocsin.learning.markdown import render as render_markdown
from tocsin.learning.models import Article, ArticleVisibility

PAGE_SIZE = 25
SUGGEST_TEXT_MAX = 500


def register() -> None:
    incident_hooks.register(incident_hooks.incident_page_sections, incident_section)
    incident_hooks.register(incident_hooks.incident_page_reporter_sections, incident_section)
    incident_hooks.register(incident_hooks.new_incident_sections, new_incident_section)


def _user(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


# --- hooks: the incident page and the new-incident forms ------------------------------------


def incident_section(user: User | None, incident: Incident) -> PageSection | None:
    """Articles that match the incident (public only for its reporter), the ones recorded
    as having solved it, and "This article solved it" for staff and the reporter."""
    if user is None:
        return None
    # read only when the page shows the section (the live refresh of the incident page
    # builds the same context and never shows it)
    solved = SimpleLazyObject(lambda: sel.solutions_of(user, incident))

    def suggested() -> list[sel.Hit]:
        done = {s.article_id for s in solved}
        return [h for h in sel.incident_suggestions(user, incident) if h.article.pk not in done]

    return PageSection(
        template="learning/kb_incident_section.html",
        context={
            "kb_suggested": SimpleLazyObject(suggested),
            "kb_solved": solved,
            "kb_may_solve": sel.may_record_solution(user, incident),
        },
    )


def new_incident_section(user: User | None) -> PageSection | None:
    """The suggestion box under a new incident's description (filled by kb-suggest.js)."""
    if user is None:
        return None
    return PageSection(template="learning/kb_suggest_box.html")


# --- forms ----------------------------------------------------------------------------------


class ArticleForm(forms.Form):
    title = forms.CharField(max_length=articles.TITLE_MAX, label="Title")
    body = forms.CharField(
        required=False,
        max_length=articles.BODY_MAX,
        label="Text",
        strip=False,
        widget=forms.Textarea(attrs={"rows": 16, "class": "mono"}),
        help_text=(
            "Markdown: # headings, **bold**, *italics*, lists, `code`, [links](https://…), tables."
        ),
    )
    visibility = forms.ChoiceField(
        choices=ArticleVisibility.choices,
        widget=forms.RadioSelect,
        label="Who may read it",
        initial=ArticleVisibility.INTERNAL,
    )
    tags = forms.CharField(
        required=False,
        max_length=articles.TAGS_MAX * (articles.TAG_MAX + 1),
        label="Tags",
        help_text="Words separated by spaces or commas, e.g. vpn network.",
    )
    services = forms.ModelMultipleChoiceField(
        queryset=Service.objects.order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Services",
    )
    categories = forms.ModelMultipleChoiceField(
        queryset=Category.objects.order_by("parent__name", "name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Categories",
    )
    note = forms.CharField(
        required=False,
        max_length=articles.NOTE_MAX,
        label="What changed",
        help_text="Kept with this version in the article's history.",
    )
    version = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def fields_or_error(self) -> articles.ArticleFields:
        data = self.cleaned_data
        return articles.check_fields(
            title=data["title"],
            body=data["body"],
            visibility=data["visibility"],
            tags=data["tags"],
            services=list(data["services"]),
            categories=list(data["categories"]),
        )


# --- pages ----------------------------------------------------------------------------------


def _int(value: str | None) -> int | None:
    try:
        number = int(value or "")
    except ValueError:
        return None
    return number if 0 < number < 2**53 else None


@login_required
@require_GET
def kb_index(request: HttpRequest) -> HttpResponse:
    """Search box and list: the articles this person may read."""
    user = _user(request)
    staff = sel.reads_internal(user)
    q = request.GET.get("q", "")[:SUGGEST_TEXT_MAX]
    archived = staff and request.GET.get("archived") == "1"
    visibility = request.GET.get("visibility", "")
    if visibility not in ArticleVisibility.values or not staff:
        visibility = ""
    filters = sel.Filters(
        q=q,
        tag=request.GET.get("tag", "")[: articles.TAG_MAX].strip().lower(),
        service=_int(request.GET.get("service")),
        category=_int(request.GET.get("category")),
        visibility=visibility,
        archived=archived,
    )
    page_no = _int(request.GET.get("page")) or 1
    hits, count = sel.article_search(
        user, filters, limit=PAGE_SIZE, offset=(page_no - 1) * PAGE_SIZE
    )
    base = {k: v for k, v in request.GET.items() if k != "page" and v}
    pages = max(1, (count + PAGE_SIZE - 1) // PAGE_SIZE)
    return render(
        request,
        "learning/kb_index.html",
        {
            "hits": hits,
            "count": count,
            "filters": filters,
            "staff": staff,
            "page_no": page_no,
            "pages": pages,
            "prev_url": f"?{urlencode({**base, 'page': page_no - 1})}" if page_no > 1 else "",
            "next_url": f"?{urlencode({**base, 'page': page_no + 1})}" if page_no < pages else "",
            "service_name": Service.objects.filter(pk=filters.service)
            .values_list("name", flat=True)
            .first()
            if filters.service
            else "",
            "category_name": Category.objects.filter(pk=filters.category)
            .values_list("name", flat=True)
            .first()
            if filters.category
            else "",
        },
    )


def _versions_for(user: User | None, article: Article) -> list[Any]:
    versions = sel.article_versions(article)
    if not sel.reads_internal(user):
        versions = versions.filter(visibility=ArticleVisibility.PUBLIC)
    return list(versions)


@login_required
@require_GET
def kb_article(request: HttpRequest, article_id: int) -> HttpResponse:
    user = _user(request)
    try:
        article = sel.access_article(user, article_id)
    except TocsinError as exc:
        return error_page(request, exc)
    return render(
        request,
        "learning/kb_article.html",
        {
            "article": article,
            "html": render_markdown(article.body),
            "versions": _versions_for(user, article),
            "staff": sel.reads_internal(user),
            "shown": None,
            "solved": sel.solved_incidents(user, article),
        },
    )


@login_required
@require_GET
def kb_version(request: HttpRequest, article_id: int, number: int) -> HttpResponse:
    """An older version of the article, as it was saved."""
    user = _user(request)
    try:
        article = sel.access_article(user, article_id)
        version = sel.article_version(article, number)
        if version.visibility != ArticleVisibility.PUBLIC and not sel.reads_internal(user):
            raise NotFound(f"article {article_id} has no version {number}")
    except TocsinError as exc:
        return error_page(request, exc)
    return render(
        request,
        "learning/kb_article.html",
        {
            "article": article,
            "html": render_markdown(version.body),
            "versions": _versions_for(user, article),
            "staff": sel.reads_internal(user),
            "shown": version,
        },
    )


def _edit_page(
    request: HttpRequest, form: ArticleForm, article: Article | None, status: int = 200
) -> HttpResponse:
    return render(
        request,
        "learning/kb_form.html",
        {"form": form, "article": article, "preview": None},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def kb_new(request: HttpRequest) -> HttpResponse:
    if not sel.reads_internal(_user(request)):
        return error_page(request, NotFound("no such page"))
    form = ArticleForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                article = articles.article_create(
                    actor=Actor.for_request(request),
                    fields=form.fields_or_error(),
                    note=form.cleaned_data["note"],
                )
            except Invalid as exc:
                apply_error(form, exc)
            else:
                messages.success(request, f"Article “{article.title}” created.")
                return redirect("kb-article", article_id=article.pk)
        return _edit_page(request, form, None, status=422)
    return _edit_page(request, form, None)


@login_required
@require_http_methods(["GET", "POST"])
def kb_edit(request: HttpRequest, article_id: int) -> HttpResponse:
    try:
        article = sel.access_article_edit(_user(request), article_id)
    except TocsinError as exc:
        return error_page(request, exc)
    if request.method == "POST":
        form = ArticleForm(request.POST)
        if form.is_valid():
            try:
                saved = articles.article_edit(
                    actor=Actor.for_request(request),
                    article=article,
                    fields=form.fields_or_error(),
                    note=form.cleaned_data["note"],
                    expected_version=form.cleaned_data["version"],
                )
            except Invalid as exc:
                apply_error(form, exc)
            except TocsinError as exc:
                form.add_error(None, sentence(exc.message))
            else:
                if saved.version == article.version:
                    messages.info(request, "Nothing changed.")
                else:
                    messages.success(request, f"Saved as version {saved.version}.")
                return redirect("kb-article", article_id=saved.pk)
        return _edit_page(request, form, article, status=422)
    form = ArticleForm(
        initial={
            "title": article.title,
            "body": article.body,
            "visibility": article.visibility,
            "tags": article.tags,
            "services": list(article.services.all()),
            "categories": list(article.categories.all()),
            "version": article.version,
        }
    )
    return _edit_page(request, form, article)


@login_required
@require_POST
def kb_archive(request: HttpRequest, article_id: int) -> HttpResponse:
    try:
        article = sel.access_article_edit(_user(request), article_id)
    except TocsinError as exc:
        return error_page(request, exc)
    archive = request.POST.get("archived") != "0"
    articles.article_archive(actor=Actor.for_request(request), article=article, archived=archive)
    messages.success(request, "Article archived." if archive else "Article restored.")
    return redirect("kb-article", article_id=article.pk)


@login_required
@require_GET
def kb_suggest(request: HttpRequest) -> JsonResponse:
    """JSON for the new-incident forms: `{"items": [{"title", "url", "snippet"}]}` — the
    articles matching what was typed (the last word as a prefix), public ones only for
    a reporter. Reads only."""
    text = request.GET.get("q", "")[:SUGGEST_TEXT_MAX]
    hits = sel.article_suggestions(_user(request), text)
    return JsonResponse(
        {
            "items": [
                {
                    "id": h.article.pk,
                    "title": h.article.title,
                    "url": reverse("kb-article", kwargs={"article_id": h.article.pk}),
                    "snippet": h.snippet,
                }
                for h in hits
            ]
        }
    )


@login_required
@require_POST
def incident_article_solved(request: HttpRequest, ref: str, article_id: int) -> HttpResponse:
    """ "This article solved it" from the incident page (staff or the incident's reporter)."""
    user = _user(request)
    try:
        incident = access_incident(user, ref)
        article = sel.access_article(user, article_id)
        if not sel.may_record_solution(user, incident):
            raise NotFound(f"no incident {ref}")
    except TocsinError as exc:
        return error_page(request, exc)
    try:
        articles.article_solved(
            actor=Actor.for_request(request), incident=incident, article=article
        )
    except TocsinError as exc:
        messages.error(request, sentence(exc.message))
    else:
        messages.success(request, f"Recorded: “{article.title}” solved {incident.ref}.")
    return redirect(reverse("incident", kwargs={"ref": incident.ref}) + "#kb")
