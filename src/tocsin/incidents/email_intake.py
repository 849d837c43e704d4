"""Email intake: a mail to `<integration-key>@<any domain>` opens an incident, or adds a
public note to the incident named by `[INC-42]` in its subject.

Two steps, so that `tocsin smtp` can answer each failure with the right SMTP code:

- `parse_mail(raw)` reads the bytes with the standard library's `email` package and
  returns a `ParsedMail` (title, text, sender, attachments, `[INC-n]` reference). It
  touches no database; a message it cannot read raises `MalformedMail` (550 5.6.0).
- `file_mail(mail=..., keys=[...])` writes everything for one mail in ONE transaction:
  the incident (or the note), its attachments, the notes about refused attachments.
  A database that is locked or unavailable raises `django.db.OperationalError` with
  nothing written (451 4.3.0, the sender retries).

Decisions (see docs/integrations/email.md):
- A message with no header section at all is malformed. Anything with headers is filed,
  even without From or Subject: the title becomes "(no subject)" and the reporter
  "unknown sender".
- The sender is the From header's first address, else the envelope sender (MAIL FROM).
  Email sender addresses are not authenticated: a note that arrived by mail is shown as
  "by email from <address>" (the timeline actor), never as an account's own act, and
  the reply rules below never change an incident's status.
- A reply (`[INC-42]` anywhere in the subject) from someone who may see INC-42 (the access
  gate of `selectors.access_incident`, or the outside reporter's address) becomes a note
  with the quoted text trimmed: public from the reporter; internal from a staff address
  unless the integration's option `staff_mail_public` is set. To a closed incident it is
  a new incident linked to INC-42 (`related_to`), with an internal note on INC-42.
- From anyone else, the mail is a fresh report that quotes nothing of INC-42 (just as for
  an `[INC-n]` that does not exist); INC-42 gets an internal note naming only the new
  number, at most MAIL_NOTES_PER_HOUR an hour per sender address.
- Each attachment goes through `incident_attach` (size limit, type allow-list). One that
  is refused is not kept, and an internal note on the incident says which and why.
- A mail filed for the same integration in the last 30 days (same Message-ID, sender,
  subject and text: a retry after a lost 250) is not filed again: the reply names what
  it became.
- An automatic reply (out-of-office: `Auto-Submitted: auto-replied` and older
  equivalents) to `[INC-42]` is neither a note nor a new incident: INC-42 gets an
  internal note that it came (quoting its subject only if the sender may see INC-42), at
  most MAIL_NOTES_PER_HOUR an hour per sender address; its attachments are not kept.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import mimetypes
import re
import unicodedata
from dataclasses import dataclass, field
from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage, Message
from email.utils import getaddresses, parseaddr
from typing import Any

import nh3
from django.core.exceptions import SuspiciousFileOperation, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.validators import validate_email
from django.db import connection, transaction

from tocsin.accounts.models import User
from tocsin.accounts.permissions import Action, can
from tocsin.catalog.models import Integration, IntegrationKind
from tocsin.catalog.selectors import integration_by_key
from tocsin.core.actors import Actor
from tocsin.core.clock import now
from tocsin.core.errors import NotFound, TocsinError
from tocsin.incidents.models import (
    Attachment,
    Incident,
    MailReceipt,
    Source,
    Status,
    TimelineEntry,
    Visibility,
)
from tocsin.incidents.selectors import access_incident
from tocsin.incidents.services import (
    DESCRIPTION_MAX,
    NOTE_MAX,
    TITLE_MAX,
    incident_add_note,
    incident_attach,
    incident_create,
)

NO_SUBJECT = "(no subject)"
UNKNOWN_SENDER = "unknown sender"
MAX_ATTACHMENTS = 20
# PostgreSQL waits for a row lock for ever by default; SQLite gives up after its busy
# timeout (5 s, settings.py). Intake gives up after the same time and answers 451.
LOCK_TIMEOUT_MS = 5000
# How long a filed mail's Message-ID is remembered (a sender retries for days at most).
RECEIPT_KEEP = dt.timedelta(days=30)
# Notes by email that one sender may cause on one incident it cannot reply to (an
# auto-reply, or a mail naming an incident it may not see), per MAIL_NOTES_WINDOW.
MAIL_NOTES_PER_HOUR = 5
MAIL_NOTES_WINDOW = dt.timedelta(hours=1)
# The email integration's option: mail from a staff address becomes a public note.
STAFF_MAIL_PUBLIC = "staff_mail_public"
# How a note that arrived by mail names who sent it (timeline actor label).
BY_EMAIL = "by email from "

_KEY = re.compile(r"^[a-z0-9]{32}$")
_REF_TAG = re.compile(r"\[\s*INC-(\d{1,9})\s*\]", re.IGNORECASE)
_REPLY_PREFIX = re.compile(r"^(?:\s*(?:re|fwd?|aw|wg)\s*(?:\[\d+\])?\s*:\s*)+", re.IGNORECASE)
_WROTE = re.compile(r"^On\b.*\bwrote:$", re.IGNORECASE)
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
_BLOCK_END = re.compile(
    r"<br\s*/?>|</(?:p|div|li|tr|h[1-6]|table|blockquote|pre|ul|ol)\s*>", re.IGNORECASE
)


class MalformedMail(Exception):
    """The message cannot be read as an email (answered 550 5.6.0)."""


@dataclass(frozen=True)
class MailAttachment:
    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class ParsedMail:
    title: str  # cleaned, without Re:/Fwd: and [INC-n] tags; never empty
    body: str  # the whole text (description of a new incident)
    reply_text: str  # the text with quoted lines trimmed (a note on an existing incident)
    sender_email: str  # lower case, valid, or ""
    sender_name: str
    reference: int | None  # n from the first [INC-n] in the subject
    attachments: list[MailAttachment] = field(default_factory=list)
    auto_reply: bool = False  # an out-of-office or vacation answer (RFC 3834)
    message_id: str = ""  # the Message-ID header, without its angle brackets

    @property
    def sender_label(self) -> str:
        if self.sender_name and self.sender_email:
            return f"{self.sender_name} <{self.sender_email}>"
        return self.sender_email or self.sender_name or UNKNOWN_SENDER


@dataclass(frozen=True)
class Filed:
    """What one mail became, for the SMTP reply and the log."""

    outcome: str  # "created" | "note" | "follow-up" | "auto-reply" | "ignored" | "duplicate"
    incident: Incident
    refused: list[str] = field(default_factory=list)


def key_from_address(address: str) -> str | None:
    """The integration key in `<key>@<domain>` (case-insensitive), or None."""
    if not isinstance(address, str) or "@" not in address:
        return None
    local = address.rsplit("@", 1)[0].strip().strip('"').lower()
    return local if _KEY.match(local) else None


# --- text cleaning ----------------------------------------------------------------------


def _valid_unicode(value: str) -> str:
    """Undo the parser's surrogate escapes (raw 8-bit bytes) as U+FFFD, so that the text
    can be stored (PostgreSQL refuses lone surrogates)."""
    try:
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:
        return value.encode("utf-8", "replace").decode("utf-8")


def clean_line(value: str) -> str:
    """One line: control characters (NUL, CR, LF, tabs …) and bidi overrides become
    spaces, runs of spaces become one."""
    value = _BIDI.sub("", _valid_unicode(value))
    value = "".join(" " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch for ch in value)
    return " ".join(value.split())


def clean_block(value: str, limit: int) -> str:
    """Multi-line text: newlines kept, other control characters dropped, at most `limit`."""
    value = _valid_unicode(value).replace("\r\n", "\n").replace("\r", "\n")
    value = _BIDI.sub("", value)
    value = "".join(ch if ch in "\n\t" or unicodedata.category(ch) != "Cc" else "" for ch in value)
    lines = [line.rstrip() for line in value.split("\n")]
    value = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    if len(value) > limit:
        marker = "\n[… truncated]"
        value = value[: limit - len(marker)].rstrip() + marker
    return value


def clean_title(subject: str) -> str:
    title = clean_line(_REF_TAG.sub(" ", subject))
    title = clean_line(_REPLY_PREFIX.sub("", title))
    if len(title) > TITLE_MAX:
        title = title[: TITLE_MAX - 1].rstrip() + "…"
    return title or NO_SUBJECT


def html_to_text(markup: str, *, drop_quotes: bool = False) -> str:
    """Text from HTML: nh3 removes scripts, styles and every tag; entities are decoded."""
    markup = _BLOCK_END.sub("\n", markup)
    dropped = {"script", "style", "head", "title", "template"}
    if drop_quotes:
        dropped.add("blockquote")
    cleaned = nh3.clean(markup, tags=set(), attributes={}, clean_content_tags=dropped)
    # nh3 leaves only text, with < > & escaped; unescaping gives the text a person reads
    # (it is stored as text and escaped again wherever it is shown).
    return html.unescape(cleaned)


def trim_quoted(text: str) -> str:
    """A reply without what it quotes: lines starting with ">", the "On … wrote:" line
    (also when wrapped onto two lines), and everything after "-----Original Message-----"."""
    kept: list[str] = []
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped.startswith(">"):
            continue
        if stripped.strip("- ").lower() == "original message":
            break
        kept.append(line)
    result: list[str] = []
    i = 0
    while i < len(kept):
        stripped = kept[i].strip()
        if _WROTE.match(stripped):
            i += 1
            continue
        if (
            stripped.lower().startswith("on ")
            and i + 1 < len(kept)
            and kept[i + 1].strip().lower().endswith("wrote:")
        ):
            i += 2
            continue
        result.append(kept[i])
        i += 1
    return "\n".join(result).strip()


# --- parsing ----------------------------------------------------------------------------


def _raw_header(message: Message, name: str) -> str:
    for key, value in message.raw_items():
        if key.lower() == name.lower():
            return str(value)
    return ""


def _is_auto_reply(message: Message) -> bool:
    """An automatic answer to a mail: `Auto-Submitted: auto-replied` (RFC 3834), or the
    older headers some mailers send instead (X-Autoreply, X-Autorespond, Precedence:
    auto_reply). Not `auto-generated`: monitoring mails that open incidents say that."""
    submitted = _raw_header(message, "Auto-Submitted").strip().lower()
    if submitted.startswith("auto-replied"):
        return True
    if _raw_header(message, "X-Autoreply").strip() or _raw_header(message, "X-Autorespond"):
        return True
    return _raw_header(message, "Precedence").strip().lower() == "auto_reply"


def _message_id(message: Message) -> str:
    """The Message-ID without its angle brackets and spaces; "" when there is none."""
    value = _raw_header(message, "Message-ID").strip()
    if value.startswith("<") and ">" in value:
        value = value[1 : value.index(">")]
    return "".join(value.split())[:998]


def _header(message: Message, name: str) -> str:
    """A header's decoded value; its raw text if the stdlib's parser chokes on it."""
    try:
        value = message.get(name)
    except Exception:  # the stdlib header parser has edge cases that raise
        return _raw_header(message, name)
    return "" if value is None else str(value)


def _sender(message: Message, envelope_sender: str) -> tuple[str, str]:
    """(email, name) of the sender: From, else the envelope sender; email "" if unusable."""
    name, email = "", ""
    try:
        header = message.get("From")
        addresses = list(getattr(header, "addresses", ()) or ())
        if addresses:
            name, email = addresses[0].display_name or "", addresses[0].addr_spec or ""
        elif header is not None:
            pairs = getaddresses([str(header)])
            if pairs:
                name, email = pairs[0]
    except Exception:  # a From header the parser chokes on: try the raw text
        name, email = parseaddr(_raw_header(message, "From"))
    name = clean_line(name)[:150]
    email = clean_line(email).strip("<>").lower()
    if not _usable_address(email):
        email = ""
        envelope = clean_line(envelope_sender or "").strip("<>").lower()
        if _usable_address(envelope):
            email = envelope
    return email, name


def _usable_address(address: str) -> bool:
    if not address or len(address) > 254:
        return False
    try:
        validate_email(address)
    except ValidationError:
        return False
    return True


def _leaves(part: Message) -> list[Message]:
    """The non-multipart parts, depth first (a forwarded message/rfc822 is one leaf)."""
    if part.get_content_maintype() != "multipart":
        return [part]
    payload = part.get_payload()
    if not isinstance(payload, list):  # multipart without a usable boundary
        return [part]
    leaves: list[Message] = []
    for sub in payload:
        if isinstance(sub, Message):
            leaves.extend(_leaves(sub))
    return leaves


def _text_of(part: Message) -> str:
    payload: Any
    try:
        payload = part.get_content() if isinstance(part, EmailMessage) else None
    except Exception:  # unknown charset, broken transfer encoding …
        payload = None
    if not isinstance(payload, str):
        raw = part.get_payload(decode=True)
        if isinstance(raw, bytes):
            charset = part.get_content_charset() or "utf-8"
            try:
                payload = raw.decode(charset, "replace")
            except LookupError:
                payload = raw.decode("utf-8", "replace")
        else:
            payload = str(part.get_payload() or "")
    return payload


def _attachment_of(part: Message, index: int) -> MailAttachment:
    content_type = part.get_content_type().lower()
    if part.get_content_maintype() == "message":
        inner = part.get_payload()
        first = inner[0] if isinstance(inner, list) and inner else inner
        content = first.as_bytes() if isinstance(first, Message) else str(first).encode()
    else:
        decoded = part.get_payload(decode=True)
        content = decoded if isinstance(decoded, bytes) else b""
        encoding = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
        if part.get_content_maintype() == "text" and encoding != "base64":
            # Text sent as lines travels with CRLF line ends (RFC 5322); base64 keeps bytes.
            content = content.replace(b"\r\n", b"\n")
    try:
        filename = part.get_filename() or ""
    except Exception:
        filename = ""
    filename = clean_line(str(filename)).replace("\\", "/").rsplit("/", 1)[-1].strip(". ")
    if not filename:
        extension = mimetypes.guess_extension(content_type) or ".bin"
        filename = f"attachment-{index}{extension}"
    return MailAttachment(filename=filename[:150], content_type=content_type, content=content)


def parse_mail(raw: bytes, *, envelope_sender: str = "") -> ParsedMail:
    """Read one message; MalformedMail if it is not an email at all."""
    if not isinstance(raw, bytes) or not raw.strip():
        raise MalformedMail("empty message")
    try:
        message = message_from_bytes(raw, policy=email_policy.default)
    except Exception as exc:
        raise MalformedMail("cannot be parsed") from exc
    if not message.keys():
        raise MalformedMail("no header section")
    try:
        subject = _header(message, "Subject")
        sender_email, sender_name = _sender(message, envelope_sender)
        leaves = _leaves(message)
        body_part: Message | None = None
        if isinstance(message, EmailMessage):
            body_part = message.get_body(preferencelist=("plain", "html"))
        if body_part is None:
            body_part = next(
                (
                    leaf
                    for leaf in leaves
                    # text, or a multipart whose boundary is missing (read as text)
                    if leaf.get_content_maintype() in ("text", "multipart")
                    and leaf.get_content_disposition() != "attachment"
                    and not leaf.get_filename()
                ),
                None,
            )
        body = reply = ""
        if body_part is not None:
            text = _text_of(body_part)
            if body_part.get_content_subtype() == "html":
                body, reply = html_to_text(text), html_to_text(text, drop_quotes=True)
            else:
                body = reply = text
        attachments: list[MailAttachment] = []
        for leaf in leaves:
            if leaf is body_part:
                continue
            is_file = (
                leaf.get_content_disposition() == "attachment"
                or bool(leaf.get_filename())
                or leaf.get_content_maintype() not in ("text", "multipart")
            )
            if is_file:
                attachments.append(_attachment_of(leaf, len(attachments) + 1))
    except MalformedMail:
        raise
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # also nh3's PanicException, which is no Exception
        raise MalformedMail("cannot be parsed") from exc
    match = _REF_TAG.search(subject)
    return ParsedMail(
        title=clean_title(subject),
        body=clean_block(body, DESCRIPTION_MAX - 500),
        reply_text=clean_block(trim_quoted(clean_block(reply, 10 * NOTE_MAX)), NOTE_MAX),
        sender_email=sender_email,
        sender_name=sender_name,
        reference=int(match.group(1)) if match else None,
        attachments=attachments,
        auto_reply=_is_auto_reply(message),
        message_id=_message_id(message),
    )


# --- writing ----------------------------------------------------------------------------


def _person_with(email: str) -> User | None:
    """The active person with this address (unique, case-insensitively), or None. Should
    an older database still hold two, the one created first, always the same one."""
    if not email:
        return None
    return User.objects.filter(email__iexact=email, is_active=True).order_by("pk").first()


def _integration_actor(integration: Integration) -> Actor:
    return Actor.integration(f"email:{integration.name}"[:200])


def mail_actor(address: str) -> Actor:
    """Whoever a mail claims to be, its notes are shown as "by email from <address>": a
    From header is not authenticated, so a note never appears as an account's own act."""
    return Actor.integration(f"{BY_EMAIL}{address or UNKNOWN_SENDER}"[:200])


def _may_see(person: User | None, mail: ParsedMail, incident: Incident) -> bool:
    """May the sender see this incident: through the access gate every view uses, or as
    the outside reporter (no account) whose address the incident was filed from."""
    if person is not None:
        try:
            access_incident(person, incident.number)
        except NotFound:
            pass
        else:
            return True
    return bool(
        mail.sender_email
        and incident.reporter_id is None
        and incident.reporter_email.lower() == mail.sender_email
    )


def _throttled(incident: Incident, address: str) -> bool:
    """Has this sender already had MAIL_NOTES_PER_HOUR notes by email on this incident in
    the last hour? Counted from the timeline itself, so it holds across processes (the
    incident row is locked while a mail is filed)."""
    since = now() - MAIL_NOTES_WINDOW
    count = TimelineEntry.objects.filter(
        incident=incident,
        actor_kind="integration",
        actor_label=mail_actor(address).label,
        created_at__gte=since,
    ).count()
    return count >= MAIL_NOTES_PER_HOUR


def _attach_all(
    *, incident: Incident, actor: Actor, mail: ParsedMail, stored: list[Attachment]
) -> list[str]:
    """Keep each attachment; a refused one is named in an internal note instead."""
    refused: list[str] = []
    for number, item in enumerate(mail.attachments, start=1):
        if number > MAX_ATTACHMENTS:
            refused.append(f"{item.filename}: more than {MAX_ATTACHMENTS} attachments in one mail")
            continue
        upload = SimpleUploadedFile(item.filename, item.content, content_type=item.content_type)
        try:
            stored.append(incident_attach(incident=incident, actor=actor, upload=upload))
        except TocsinError as exc:
            refused.append(f"{item.filename}: {getattr(exc, 'detail', exc.message)}")
        except SuspiciousFileOperation:
            refused.append(f"{item.filename}: the file name cannot be stored")
    if refused:
        incident_add_note(
            incident=incident,
            actor=Actor.system("email intake"),
            visibility=Visibility.INTERNAL,
            text="Attachments from the email that were not kept:\n"
            + "\n".join(f"- {line}" for line in refused),
        )
    return refused


def _create(
    *,
    integration: Integration,
    mail: ParsedMail,
    stored: list[Attachment],
    related: Incident | None = None,
    reason: str = "",
) -> Filed:
    """A new incident; with `related` (which the sender may see), a follow-up to it."""
    reporter = _person_with(mail.sender_email)
    description = mail.body
    if related is not None:
        intro = f"Follow-up to {related.ref} ({related.title}): {reason}."
        description = f"{intro}\n\n{description}".strip()
    actor = _integration_actor(integration)
    sender_email = mail.sender_email if _is_address(mail.sender_email) else ""
    sender_name = mail.sender_name or ("" if sender_email else mail.sender_email)
    incident = incident_create(
        actor=actor,
        title=mail.title,
        description=description,
        source=Source.EMAIL,
        reporter=reporter,
        reporter_name="" if reporter else (sender_name or UNKNOWN_SENDER)[:150],
        reporter_email="" if reporter else sender_email,
        service=integration.service,
        related_to=related,
    )
    if related is not None:
        incident_add_note(
            incident=related,
            actor=mail_actor(mail.sender_email),
            visibility=Visibility.INTERNAL,
            text=f"An email about {related.ref} was filed as {incident.ref}: {reason}.",
        )
    refused = _attach_all(incident=incident, actor=actor, mail=mail, stored=stored)
    return Filed("follow-up" if related else "created", incident, refused)


def _unseen(
    *, integration: Integration, mail: ParsedMail, stored: list[Attachment], target: Incident
) -> Filed:
    """A mail naming an incident its sender may not see: a fresh report that quotes
    nothing of it (as if the number did not exist). Staff learn of it from an internal
    note on the named incident that names only the new number and the address, at most
    MAIL_NOTES_PER_HOUR times an hour per sender."""
    filed = _create(integration=integration, mail=mail, stored=stored)
    if not _throttled(target, mail.sender_email):
        incident_add_note(
            incident=target,
            actor=mail_actor(mail.sender_email),
            visibility=Visibility.INTERNAL,
            text=f"An email naming {target.ref} from a sender who cannot see it was filed "
            f"as a new incident, {filed.incident.ref}.",
        )
    return filed


def _auto_reply(*, mail: ParsedMail, target: Incident, visible: bool) -> Filed:
    """An out-of-office answer to Tocsin's own mail: neither a reply nor a new incident
    (and never a public note, which could mail the sender back: a loop). An internal note
    says it came, quoting its subject only to a sender who may see the incident; at most
    MAIL_NOTES_PER_HOUR an hour per sender, the rest are dropped."""
    if _throttled(target, mail.sender_email):
        return Filed("ignored", target)
    text = "An automatic reply was not added as a reply"
    text += f": {mail.title}" if visible else "."
    incident_add_note(
        incident=target,
        actor=mail_actor(mail.sender_email),
        text=text[:NOTE_MAX],
        visibility=Visibility.INTERNAL,
    )
    return Filed("auto-reply", target)


def _file_one(*, integration: Integration, mail: ParsedMail, stored: list[Attachment]) -> Filed:
    target = None
    if mail.reference is not None:
        target = Incident.objects.select_for_update().filter(number=mail.reference).first()
    if target is None:
        return _create(integration=integration, mail=mail, stored=stored)
    person = _person_with(mail.sender_email)
    visible = _may_see(person, mail, target)
    if mail.auto_reply:
        return _auto_reply(mail=mail, target=target, visible=visible)
    if not visible:
        return _unseen(integration=integration, mail=mail, stored=stored, target=target)
    if target.status == Status.CLOSED:
        return _create(
            integration=integration,
            mail=mail,
            stored=stored,
            related=target,
            reason=f"{target.ref} is closed",
        )
    # The reporter's mail is a public comment; a staff address's an internal note unless
    # an administrator set the integration's staff_mail_public (a From can be forged).
    visibility = Visibility.PUBLIC
    if person is not None and can(person, Action.TIMELINE_INTERNAL_ADD):
        public = bool((integration.options or {}).get(STAFF_MAIL_PUBLIC, False))
        visibility = Visibility.PUBLIC if public else Visibility.INTERNAL
    author = mail_actor(mail.sender_email)
    text = mail.reply_text or (
        "(reply with attachments only)" if mail.attachments else "(empty reply)"
    )
    incident_add_note(incident=target, actor=author, text=text, visibility=visibility)
    refused = _attach_all(incident=target, actor=author, mail=mail, stored=stored)
    return Filed("note", target, refused)


# Outcomes that happen once for a mail, however many email integrations it names: a
# note (or an auto-reply's note) on the incident the subject refers to.
ONCE_A_MAIL = ("note", "auto-reply", "ignored")


def _receipt_key(mail: ParsedMail) -> str:
    """What identifies a delivery of this mail: its Message-ID, with its sender, subject
    and text (a retry is the same bytes; a sender that reuses one Message-ID for
    different mails still has them filed). "" without a Message-ID."""
    if not mail.message_id:
        return ""
    text = "\n".join((mail.message_id, mail.sender_email, mail.title, mail.body))
    # surrogatepass: header bytes that were not UTF-8 arrive as lone surrogates.
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _receipt(integration: Integration, message_key: str) -> MailReceipt | None:
    if not message_key:
        return None
    return (
        MailReceipt.objects.select_related("incident")
        .filter(integration=integration, message_key=message_key)
        .first()
    )


def _remember(
    integrations: list[Integration],
    message_key: str,
    incident: Incident,
    outcome: str,
    at: dt.datetime,
    *,
    known: bool = False,
) -> None:
    """A receipt of this mail for each of these integrations that has none yet (`known`:
    the caller has just looked, and they have none)."""
    if not message_key:
        return
    for integration in integrations:
        if known or _receipt(integration, message_key) is None:
            MailReceipt.objects.create(
                integration=integration,
                message_key=message_key,
                incident=incident,
                outcome=outcome,
                received_at=at,
            )


def file_mail(*, mail: ParsedMail, keys: list[str]) -> list[Filed]:
    """File one mail for the email integrations with these keys, in one transaction.

    New incidents are opened once per distinct integration (each is a service's
    intake); a note on an existing incident is added once. Keys revoked since RCPT are
    skipped; an empty list means none was left. Raises OperationalError (nothing
    written) when the database is locked or unavailable.
    """
    stored: list[Attachment] = []
    try:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute(f"SET LOCAL lock_timeout = '{int(LOCK_TIMEOUT_MS)}ms'")
            integrations: list[Integration] = []
            for key in dict.fromkeys(keys):
                found = integration_by_key(key, kinds=(IntegrationKind.EMAIL,))
                if found is not None and all(found.pk != i.pk for i in integrations):
                    integrations.append(found)
            at = now()
            MailReceipt.objects.filter(received_at__lt=at - RECEIPT_KEEP).delete()
            message_key = _receipt_key(mail)
            filed: list[Filed] = []
            for integration in integrations:
                seen = _receipt(integration, message_key)
                if seen is not None:  # delivered again: answer as the first time
                    result, outcome = Filed("duplicate", seen.incident), seen.outcome
                else:
                    result = _file_one(integration=integration, mail=mail, stored=stored)
                    outcome = result.outcome
                filed.append(result)
                if outcome in ONCE_A_MAIL:
                    # Whichever mailbox took it, and in whatever order a retry names them.
                    _remember(integrations, message_key, result.incident, outcome, at)
                    break
                if seen is None:  # it has none: just looked
                    _remember([integration], message_key, result.incident, outcome, at, known=True)
            return filed
    except BaseException:
        # The rows rolled back; the files already written to storage must go too.
        for attachment in stored:
            attachment.file.delete(save=False)
        raise


def _is_address(value: str) -> bool:
    try:
        validate_email(value)
    except ValidationError:
        return False
    return True
