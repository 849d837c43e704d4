"""What people add to an incident's record: notes, attachments, and redaction."""

from __future__ import annotations

import mimetypes

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.text import get_valid_filename

from tocsin.accounts.permissions import Action, can, require_for
from tocsin.core.actors import Actor
from tocsin.core.audit import audit_record
from tocsin.core.clock import now
from tocsin.core.errors import Conflict, Invalid
from tocsin.incidents.models import (
    Attachment,
    EntryKind,
    Incident,
    Status,
    TimelineEntry,
    TimelineOrder,
    TimelineShow,
    TimelineView,
    Visibility,
)
from tocsin.incidents.services._common import (
    NOTE_MAX,
    _clean_text,
    _lock,
)
from tocsin.incidents.timeline import timeline_append


@transaction.atomic
def incident_add_note(
    *, incident: Incident, actor: Actor, text: str, visibility: str | None = None
) -> TimelineEntry:
    """A note: staff notes are internal unless made public; reporter comments are public.

    A closed incident takes no more comments from its reporter (a follow-up does)."""
    user = actor.user
    staff = can(user, Action.TIMELINE_INTERNAL_ADD) or actor.kind in ("system", "integration")
    if not staff:
        require_for(actor, Action.INCIDENT_COMMENT, incident, what="comment on this incident")
    text = _clean_text("text", text, required=True, limit=NOTE_MAX)
    if visibility is None:
        visibility = Visibility.INTERNAL if staff else Visibility.PUBLIC
    if visibility not in Visibility.values:
        raise Invalid("visibility", "must be internal or public")
    if not staff and visibility != Visibility.PUBLIC:
        require_for(actor, Action.TIMELINE_INTERNAL_ADD, what="add internal notes")
    incident = _lock(incident)
    if incident.status == Status.CLOSED and not staff:
        raise Conflict(
            f"{incident.ref} is closed and takes no new comments; report a follow-up instead"
        )
    incident.updated_at = now()
    incident.save(update_fields=["updated_at"])
    return timeline_append(
        incident=incident, kind=EntryKind.NOTE, actor=actor, text=text, visibility=visibility
    )


def _sniff_type(upload: UploadedFile) -> str:
    declared = (upload.content_type or "").split(";")[0].strip().lower()
    guessed = mimetypes.guess_type(upload.name or "")[0] or ""
    return declared if declared and declared != "application/octet-stream" else guessed


_MAGIC: dict[str, tuple[bytes, ...]] = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "application/pdf": (b"%PDF-",),
    "application/zip": (b"PK\x03\x04", b"PK\x05\x06"),
    "application/gzip": (b"\x1f\x8b",),
}
_TEXT_TYPES = frozenset({"text/plain", "text/csv", "application/json"})
# Logs: browsers send ".log" as text/x-log (or nothing at all); any text/* that is valid
# text is kept as plain text, as are .log and .txt files. Markup stays refused.
TEXT_EXTENSIONS = (".log", ".txt")
_NOT_PLAIN_TEXT = frozenset({"text/html", "text/xml", "text/javascript", "text/css"})
_TEXT_WINDOW = 64 * 1024
# How people know the types, for the messages that name them.
TYPE_NAMES = {
    "image/png": "PNG",
    "image/jpeg": "JPEG",
    "image/gif": "GIF",
    "image/webp": "WebP",
    "text/plain": "text and log files (.txt, .log)",
    "text/csv": "CSV",
    "application/json": "JSON",
    "application/pdf": "PDF",
    "application/zip": "ZIP",
    "application/gzip": "gzip",
}


def _is_text(upload: UploadedFile) -> bool:
    """Valid UTF-8 text without NUL bytes, judged on the first 64 KB."""
    upload.seek(0)
    head = upload.read(_TEXT_WINDOW)
    upload.seek(0)
    if isinstance(head, str):
        head = head.encode()
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # a character cut by the window is fine; anything else is not text
        return len(head) == _TEXT_WINDOW and exc.start >= len(head) - 3
    return True


def _content_matches(content_type: str, upload: UploadedFile) -> bool:
    """The declared type must be what the bytes are (a page is not a PNG)."""
    upload.seek(0)
    head = upload.read(4096)
    upload.seek(0)
    if isinstance(head, str):
        head = head.encode()
    if content_type in _MAGIC:
        return head.startswith(_MAGIC[content_type])
    if content_type == "image/webp":
        return head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    if content_type in _TEXT_TYPES:
        return _is_text(upload)
    return True  # a type the administrator added: no signature known


def allowed_types_text() -> str:
    """The accepted types as people name them: "PNG, JPEG, …, PDF"."""
    return ", ".join(TYPE_NAMES.get(t, t) for t in settings.TOCSIN_ATTACHMENT_TYPES)


def upload_accept() -> str:
    """The file picker's `accept` list for the accepted types (a hint; the server checks)."""
    kinds = list(settings.TOCSIN_ATTACHMENT_TYPES)
    if "text/plain" in kinds:
        kinds += ["text/*", *TEXT_EXTENSIONS]
    return ",".join(dict.fromkeys(kinds))


def attachment_type(upload: UploadedFile) -> str:
    """The content type a file is stored under, or Invalid naming the file and why.

    Plain-text logs are recognised by their content: a `.log` or `.txt` file, or any
    `text/*` (browsers send `text/x-log`), that is valid text is kept as text/plain."""
    name = (upload.name or "attachment").rsplit("/", 1)[-1]
    content_type = _sniff_type(upload)
    allowed = settings.TOCSIN_ATTACHMENT_TYPES
    looks_textual = name.lower().endswith(TEXT_EXTENSIONS) or (
        content_type.startswith("text/") and content_type not in _NOT_PLAIN_TEXT
    )
    if content_type not in allowed and looks_textual and "text/plain" in allowed:
        if not _is_text(upload):
            raise Invalid("file", f"{name} is not plain text (a log must be UTF-8 text)")
        return "text/plain"
    if content_type not in allowed:
        raise Invalid(
            "file",
            f"{name}: type {content_type or 'unknown'!r} is not allowed; allowed: "
            + allowed_types_text(),
        )
    if not _content_matches(content_type, upload):
        raise Invalid("file", f"{name}: the file's content is not {content_type}")
    return content_type


@transaction.atomic
def incident_attach(
    *, incident: Incident, actor: Actor, upload: UploadedFile, visibility: str | None = None
) -> Attachment:
    user = actor.user
    staff = can(user, Action.TIMELINE_INTERNAL_ADD)
    if not staff:
        require_for(actor, Action.INCIDENT_COMMENT, incident, what="attach files to this incident")
    if visibility is None:
        visibility = Visibility.PUBLIC
    if visibility not in Visibility.values:
        raise Invalid("visibility", "must be internal or public")
    if not staff:
        if visibility == Visibility.INTERNAL and actor.kind in ("user", "token"):
            require_for(actor, Action.TIMELINE_INTERNAL_ADD, what="add internal attachments")
        visibility = Visibility.PUBLIC
    limit = settings.TOCSIN_ATTACHMENT_MAX_BYTES
    if upload.size is None or upload.size > limit:
        raise Invalid("file", f"is larger than the limit of {limit // (1024 * 1024)} MB")
    if upload.size == 0:
        raise Invalid("file", "is empty")
    content_type = attachment_type(upload)
    filename = get_valid_filename((upload.name or "attachment").rsplit("/", 1)[-1])[:150]
    incident = _lock(incident)
    if incident.status == Status.CLOSED:
        raise Conflict("a closed incident takes no more attachments")
    at = now()
    attachment = Attachment(
        incident=incident,
        filename=filename,
        content_type=content_type,
        size=upload.size,
        uploaded_by=user,
        uploaded_at=at,
        visibility=visibility,
    )
    attachment.file.save(filename, upload, save=False)
    try:
        attachment.save()
        incident.updated_at = at
        incident.save(update_fields=["updated_at"])
        timeline_append(
            incident=incident,
            kind=EntryKind.ATTACHMENT,
            actor=actor,
            text=filename,
            visibility=visibility,
            data={"attachment": attachment.pk, "size": upload.size, "content_type": content_type},
        )
    except BaseException:
        # The rows roll back with the transaction; the stored file must go too.
        attachment.file.delete(save=False)
        raise
    return attachment


@transaction.atomic
def timeline_redact(*, entry: TimelineEntry, actor: Actor) -> TimelineEntry:
    """An administrator blanks an entry's text; the fact and the redactor remain."""
    require_for(actor, Action.INCIDENT_REDACT, what="redact timeline entries")
    entry = TimelineEntry.objects.select_for_update().get(pk=entry.pk)
    if entry.redacted_at is not None:
        raise Conflict("this entry is already redacted")
    entry.text = ""
    entry.redacted_at = now()
    entry.redacted_by = actor.user
    entry.save(update_fields=["text", "redacted_at", "redacted_by"])
    return entry


@transaction.atomic
def timeline_pin(*, entry: TimelineEntry, actor: Actor, pinned: bool = True) -> TimelineEntry:
    """Pin an entry as a highlight of the incident (or unpin it): staff who may triage the
    incident may. Who pinned it and when stay on the entry (the postmortem starts from the
    highlights); each pin and unpin is also in the audit log."""
    incident = Incident.objects.get(pk=entry.incident_id)
    require_for(actor, Action.INCIDENT_TRIAGE, incident, what="pin timeline entries")
    entry = TimelineEntry.objects.select_for_update().get(pk=entry.pk)
    if entry.pinned == pinned:
        return entry  # already as asked: pinning twice is not an error
    before = {"pinned": entry.pinned}
    entry.pinned_at = now() if pinned else None
    entry.pinned_by = actor.user if pinned else None
    entry.save(update_fields=["pinned_at", "pinned_by"])
    audit_record(
        actor=actor,
        action="timeline.pin" if pinned else "timeline.unpin",
        obj=entry,
        before=before,
        after={"pinned": pinned},
        object_label=f"{incident.ref} timeline entry {entry.pk}",
    )
    return entry


def timeline_view_set(*, actor: Actor, order: str, show: str) -> TimelineView:
    """Remember how this person likes to read timelines (order and which entries)."""
    if order not in TimelineOrder.values:
        raise Invalid("order", f"must be one of {', '.join(TimelineOrder.values)}")
    if show not in TimelineShow.values:
        raise Invalid("show", f"must be one of {', '.join(TimelineShow.values)}")
    if actor.user is None:
        raise Invalid("user", "only a signed-in person has a timeline view")
    view, _ = TimelineView.objects.update_or_create(
        user=actor.user, defaults={"order": order, "show": show}
    )
    return view
