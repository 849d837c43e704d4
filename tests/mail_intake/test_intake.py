"""Email intake over real SMTP: smtplib talking to `tocsin smtp` (core.smtp.serve)."""

from __future__ import annotations

import datetime as dt
import smtplib
import struct
import threading
import zlib
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY

import pytest
from django.db import transaction
from django.db.models import F
from django.test import Client
from django.utils import timezone

from tests.mail_intake.conftest import EmailIntegration, Server
from tests.system.examples import example, fill
from tocsin.accounts.models import User
from tocsin.catalog.models import IntegrationKind
from tocsin.catalog.services import integration_create, integration_revoke
from tocsin.core.actors import Actor
from tocsin.core.clock import travel
from tocsin.core.models import Counter
from tocsin.incidents.email_intake import MAIL_NOTES_PER_HOUR, file_mail, parse_mail
from tocsin.incidents.models import EntryKind, Incident, Source, Status, TimelineEntry
from tocsin.incidents.services import incident_close, incident_resolve

pytestmark = pytest.mark.django_db(transaction=True)


def png_bytes() -> bytes:
    """A real 1×1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def mail(
    *,
    to: str,
    subject: str | None = "Payroll export fails",
    sender: str | None = "Dana Doe <dana@example.org>",
    text: str = "The export stopped.\n",
) -> EmailMessage:
    message = EmailMessage()
    if sender is not None:
        message["From"] = sender
    message["To"] = to
    if subject is not None:
        message["Subject"] = subject
    message.set_content(text)
    return message


def send(
    server: Server, to: str, data: bytes | EmailMessage, sender: str = "dana@example.org"
) -> tuple[int, bytes]:
    """MAIL, RCPT, DATA; returns the reply to DATA (or to RCPT when refused there)."""
    raw = data.as_bytes(policy=SMTP_POLICY) if isinstance(data, EmailMessage) else data
    with smtplib.SMTP(server.host, server.port, timeout=30) as client:
        client.ehlo("test.example.org")
        code, reply = client.mail(sender)
        assert code == 250, reply
        code, reply = client.rcpt(to)
        if code != 250:
            return code, reply
        return client.data(raw)


def close(incident: Incident, agent: User) -> None:
    """Resolve and close the incident, as a staff member does."""
    staff = Actor.for_user(agent)
    incident_resolve(
        incident=incident,
        actor=staff,
        resolution_code="fixed",
        resolution_notes="Replaced the fuser",
    )
    incident_close(incident=incident, actor=staff)


def latest() -> Incident:
    return Incident.objects.select_related("reporter", "service").order_by("-number").first()


def notes(incident: Incident) -> list[TimelineEntry]:
    return list(incident.timeline.filter(kind=EntryKind.NOTE).order_by("id"))


# --- new mail --------------------------------------------------------------------------


def test_the_documented_example_opens_an_incident(
    intake: Server, mailbox: EmailIntegration
) -> None:
    code = fill(
        example("email.md", "smtplib-send"),
        {
            'smtplib.SMTP("tocsin.example.com", 2525)': f'smtplib.SMTP("{intake.host}", '
            f"{intake.port})",
            "YOUR_INTEGRATION_KEY": mailbox.key,
        },
    )
    exec(compile(code, "docs/integrations/email.md", "exec"), {})

    incident = latest()
    assert incident is not None
    assert incident.title == "Payroll export fails"
    assert incident.description == "The nightly payroll export stopped at 02:00 with error E42."
    assert incident.source == Source.EMAIL
    assert incident.service == mailbox.service
    assert incident.reporter is None
    assert (incident.reporter_name, incident.reporter_email) == ("Dana Doe", "dana@example.org")
    [attachment] = incident.attachments.all()
    assert attachment.filename == "export.log"
    assert attachment.content_type == "text/plain"
    assert attachment.file.read() == b"02:00:01 ERROR E42 export aborted\n"


def test_new_mail_from_a_known_person_keeps_attachments(
    intake: Server, mailbox: EmailIntegration, reporter: User
) -> None:
    message = mail(
        to=mailbox.address(),
        sender=f"Rita <{reporter.email.upper()}>",
        subject="Fwd: RE: Screen flickers",
        text="Since this morning the screen flickers.\nScreenshot and log attached.\n",
    )
    message.add_attachment(png_bytes(), maintype="image", subtype="png", filename="screen.png")
    message.add_attachment(
        "12:00 flicker\n12:01 flicker\n", subtype="plain", filename="display.log"
    )

    code, reply = send(intake, mailbox.address(), message)

    incident = latest()
    assert (code, reply) == (250, f"2.0.0 OK {incident.ref}".encode())
    assert incident.title == "Screen flickers"
    assert incident.description == (
        "Since this morning the screen flickers.\nScreenshot and log attached."
    )
    assert incident.reporter == reporter
    assert incident.reporter_email == ""
    assert incident.service == mailbox.service
    assert incident.source == Source.EMAIL
    files = {a.filename: a for a in incident.attachments.all()}
    assert set(files) == {"screen.png", "display.log"}
    assert files["screen.png"].content_type == "image/png"
    assert files["screen.png"].file.read() == png_bytes()
    assert files["display.log"].file.read() == b"12:00 flicker\n12:01 flicker\n"
    created = incident.timeline.get(kind=EntryKind.CREATED)
    assert (created.actor_kind, created.actor_label) == (
        "integration",
        "email:Service desk mailbox",
    )
    assert notes(incident) == []  # nothing was refused


def test_the_key_is_case_insensitive_and_the_domain_is_ignored(
    intake: Server, mailbox: EmailIntegration
) -> None:
    address = f"{mailbox.key.upper()}@Some.Other.Domain"
    code, _ = send(intake, address, mail(to=address, subject="Upper case key"))
    assert code == 250
    assert latest().title == "Upper case key"


def test_a_refused_attachment_is_named_in_a_note_and_the_mail_is_kept(
    intake: Server, mailbox: EmailIntegration, settings: object
) -> None:
    message = mail(to=mailbox.address(), subject="Installer crashes")
    message.add_attachment(
        b"MZ\x90\x00fake", maintype="application", subtype="x-msdownload", filename="setup.exe"
    )
    message.add_attachment(png_bytes(), maintype="image", subtype="png", filename="crash.png")

    code, _ = send(intake, mailbox.address(), message)

    assert code == 250
    incident = latest()
    assert [a.filename for a in incident.attachments.all()] == ["crash.png"]
    [note] = notes(incident)
    assert note.visibility == "internal"
    assert "setup.exe" in note.text
    assert "application/x-msdownload" in note.text
    assert "not allowed" in note.text


def test_mail_without_from_is_filed_with_an_unknown_sender(
    intake: Server, mailbox: EmailIntegration
) -> None:
    raw = (f"To: {mailbox.address()}\r\nSubject: No sender here\r\n\r\nWho am I?\r\n").encode()
    code, _ = send(intake, mailbox.address(), raw, sender="")
    assert code == 250
    incident = latest()
    assert incident.title == "No sender here"
    assert incident.reporter is None
    assert (incident.reporter_name, incident.reporter_email) == ("unknown sender", "")


def test_html_only_mail_becomes_clean_text(intake: Server, mailbox: EmailIntegration) -> None:
    message = EmailMessage()
    message["From"] = "dana@example.org"
    message["To"] = mailbox.address()
    message["Subject"] = "HTML only"
    message.set_content(
        "<html><head><style>p {color: red}</style><title>x</title></head><body>"
        "<p>Printer <b>jammed</b> &amp; beeping</p><script>alert('owned')</script>"
        "<img src=x onerror=alert(1)><div>Room 4.12</div></body></html>",
        subtype="html",
    )
    code, _ = send(intake, mailbox.address(), message)
    assert code == 250
    description = latest().description
    assert description == "Printer jammed & beeping\nRoom 4.12"
    for fragment in ("<", ">", "script", "alert", "color", "onerror"):
        assert fragment not in description


def test_nul_and_crlf_in_the_subject_do_not_break_anything(
    intake: Server, mailbox: EmailIntegration
) -> None:
    # An encoded word can carry CR, LF and NUL; a raw NUL byte can sit in the header too.
    raw = (
        b"From: dana@example.org\r\n"
        b"To: " + mailbox.address().encode() + b"\r\n"
        b"Subject: =?utf-8?q?Disk=00_full=0D=0ABcc:_victim@example.org?= \x00tail\r\n"
        b"\r\n"
        b"Body with a NUL \x00 inside.\r\n"
    )
    code, _ = send(intake, mailbox.address(), raw)
    assert code == 250
    incident = latest()
    assert incident.title == "Disk full Bcc: victim@example.org tail"
    assert "\x00" not in incident.description
    assert incident.description == "Body with a NUL  inside."


# --- refusals --------------------------------------------------------------------------


def test_unknown_or_revoked_keys_are_refused_at_rcpt(
    intake: Server, mailbox: EmailIntegration
) -> None:
    revoked_integration, revoked_key = integration_create(
        service=mailbox.service, kind="email", name="old", actor=Actor.system("test setup")
    )
    integration_revoke(integration=revoked_integration, actor=Actor.system("test setup"))
    _, webhook_key = integration_create(
        service=mailbox.service, kind="webhook", actor=Actor.system("test setup")
    )
    for address in (
        "nobody@example.com",
        "0" * 32 + "@example.com",
        f"{revoked_key}@example.com",
        f"{webhook_key}@example.com",  # a key, but not of an email integration
    ):
        code, reply = send(intake, address, mail(to=address))
        assert (code, reply) == (550, b"5.1.1 No such integration"), address
    with (
        smtplib.SMTP(intake.host, intake.port, timeout=30) as client,
        pytest.raises(smtplib.SMTPRecipientsRefused),
    ):
        client.send_message(mail(to="nobody@example.com"))
    assert Incident.objects.count() == 0


def test_oversized_mail_gets_552_and_nothing_is_stored(
    intake_small: Server, mailbox: EmailIntegration
) -> None:
    message = mail(to=mailbox.address(), subject="Huge")
    message.add_attachment(b"x" * 300_000, maintype="application", subtype="zip", filename="a.zip")
    raw = message.as_bytes(policy=SMTP_POLICY)

    # Declared size (smtplib sends SIZE= when the server offers it): refused at MAIL FROM.
    with (
        smtplib.SMTP(intake_small.host, intake_small.port, timeout=30) as client,
        pytest.raises(smtplib.SMTPSenderRefused) as refused,
    ):
        client.sendmail("dana@example.org", [mailbox.address()], raw)
    assert (refused.value.smtp_code, refused.value.smtp_error) == (552, b"5.3.4 Message too big")

    # Undeclared: refused after the data.
    assert send(intake_small, mailbox.address(), raw) == (552, b"5.3.4 Message too big")
    assert Incident.objects.count() == 0

    # Just under the limit is fine.
    assert send(intake_small, mailbox.address(), mail(to=mailbox.address()))[0] == 250


@pytest.fixture
def intake_small(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Server:
    monkeypatch.setenv("TOCSIN_EMAIL_MAX_BYTES", "100000")
    return request.getfixturevalue("intake")


@pytest.mark.parametrize(
    "garbage",
    [
        b"\x00\xff\xfe garbage without any header\r\n\xde\xad\xbe\xef\r\n",
        b"\r\n\r\n",
        b"<html><body>not a mail</body></html>\r\n",
    ],
)
def test_malformed_mail_gets_550_and_nothing_is_stored(
    intake: Server, mailbox: EmailIntegration, garbage: bytes
) -> None:
    code, reply = send(intake, mailbox.address(), garbage)
    assert code == 550
    assert reply.startswith(b"5.6.0 Malformed message")
    assert Incident.objects.count() == 0


def test_mail_with_any_header_is_filed_even_without_subject_and_from(
    intake: Server, mailbox: EmailIntegration
) -> None:
    # "Note: this" is a header by the book; what follows the bad line is the body.
    code, _ = send(intake, mailbox.address(), b"Note: this is barely a mail\r\njust text\r\n")
    assert code == 250
    incident = latest()
    assert (incident.title, incident.description) == ("(no subject)", "just text")
    assert (incident.reporter_name, incident.reporter_email) == (
        "unknown sender",
        "dana@example.org",
    )


def test_a_locked_database_gets_451_and_the_retry_is_filed(
    intake: Server, mailbox: EmailIntegration, reporter: User, make_incident
) -> None:
    make_incident(reporter)  # the incident counter row exists
    before = Incident.objects.count()
    message = mail(to=mailbox.address(), subject="While locked")
    message.add_attachment(png_bytes(), maintype="image", subtype="png", filename="locked.png")
    replies: list[tuple[int, bytes]] = []
    with transaction.atomic():
        # Another writer holds the incident counter (SQLite: the whole database).
        Counter.objects.filter(name="incident").update(value=F("value"))
        sender = threading.Thread(
            target=lambda: replies.append(send(intake, mailbox.address(), message))
        )
        sender.start()
        sender.join(60)
    assert replies == [(451, b"4.3.0 Try again later")]
    assert Incident.objects.count() == before
    assert not any(intake_files(intake))

    code, _ = send(intake, mailbox.address(), message)  # the sending server retries
    assert code == 250
    assert latest().title == "While locked"
    assert latest().attachments.count() == 1


def intake_files(intake: Server) -> list[str]:
    from django.conf import settings

    root = settings.MEDIA_ROOT
    return [str(p) for p in root.rglob("*") if p.is_file()] if root.exists() else []


# --- replies ---------------------------------------------------------------------------

QUOTED_REPLY = (
    "It is still smoking, see photo.\n"
    "\n"
    "On Mon, 2 Mar 2026 at 10:00, Tocsin <tocsin@example.com> wrote:\n"
    "> Your incident was acknowledged.\n"
    ">> older text\n"
)


def test_reply_from_the_reporter_is_a_public_note(
    intake: Server, mailbox: EmailIntegration, reporter: User, make_incident
) -> None:
    incident = make_incident(reporter)
    message = mail(
        to=mailbox.address(),
        sender=reporter.email.upper(),
        subject=f"Re: [{incident.ref}] Printer on fire",
        text=QUOTED_REPLY,
    )
    message.add_attachment(png_bytes(), maintype="image", subtype="png", filename="photo.png")

    code, reply = send(intake, mailbox.address(), message)

    assert (code, reply) == (250, f"2.0.0 OK {incident.ref}".encode())
    assert Incident.objects.count() == 1
    [note] = notes(incident)
    assert note.text == "It is still smoking, see photo."
    assert note.visibility == "public"
    # Shown as what it is, a mail, never as the account's own comment (From is forgeable).
    assert (note.actor_kind, note.actor_label) == ("integration", f"by email from {reporter.email}")
    assert note.actor_user is None
    assert [a.filename for a in incident.attachments.all()] == ["photo.png"]


def test_reply_from_an_outside_reporter_address_is_a_public_note(
    intake: Server, mailbox: EmailIntegration
) -> None:
    first = mail(to=mailbox.address(), sender="Dana Doe <dana@example.org>", subject="VPN down")
    assert send(intake, mailbox.address(), first)[0] == 250
    incident = latest()
    reply = mail(
        to=mailbox.address(),
        sender="DANA@example.org",
        subject=f"AW: {incident.ref} [{incident.ref}] VPN down",
        text="Works again after a reboot.\n> quoted\n",
    )
    assert send(intake, mailbox.address(), reply)[0] == 250
    assert Incident.objects.count() == 1
    [note] = notes(incident)
    assert (note.text, note.visibility, note.actor_kind) == (
        "Works again after a reboot.",
        "public",
        "integration",
    )
    assert note.actor_label == "by email from dana@example.org"


def test_the_same_mail_delivered_again_is_filed_once(
    intake: Server, mailbox: EmailIntegration, reporter: User, make_incident
) -> None:
    """A sender that never saw the 250 sends the mail again: same Message-ID, same answer."""
    message = mail(to=mailbox.address())
    message["Message-ID"] = "<20261122.1234@mail.example.org>"
    first = send(intake, mailbox.address(), message)
    again = send(intake, mailbox.address(), message)
    incident = latest()
    assert first == again == (250, f"2.0.0 OK {incident.ref}".encode())
    assert Incident.objects.count() == 1
    # A reply too: one note, however often it comes.
    reply = mail(
        to=mailbox.address(),
        sender=f"Dana Doe <{reporter.email}>",
        subject=f"Re: [{incident.ref}] Payroll export fails",
        text="Still failing.\n",
    )
    reply["Message-ID"] = "<reply.5678@mail.example.org>"
    incident.reporter = reporter
    incident.save(update_fields=["reporter"])
    for _ in range(2):
        assert send(intake, mailbox.address(), reply) == (250, f"2.0.0 OK {incident.ref}".encode())
    assert [n.text for n in notes(incident)] == ["Still failing."]
    # Another Message-ID is another mail; so is one without any.
    other = mail(to=mailbox.address())
    other["Message-ID"] = "<other.1@mail.example.org>"
    assert send(intake, mailbox.address(), other)[0] == 250
    bare = mail(to=mailbox.address())
    del bare["Message-ID"]
    assert send(intake, mailbox.address(), bare)[0] == 250
    assert send(intake, mailbox.address(), bare)[0] == 250
    assert Incident.objects.count() == 4


def send_to_many(server: Server, recipients: list[str], message: EmailMessage) -> None:
    """One delivery to several recipients (several email integrations); 250 or it raises."""
    with smtplib.SMTP(server.host, server.port, timeout=30) as client:
        client.sendmail("dana@example.org", recipients, message.as_bytes(policy=SMTP_POLICY))


def second_mailbox(mailbox: EmailIntegration) -> EmailIntegration:
    integration, key = integration_create(
        service=mailbox.service,
        kind=IntegrationKind.EMAIL,
        name="Second mailbox",
        actor=Actor.system("test setup"),
    )
    return EmailIntegration(mailbox.service, integration, key)


def test_a_mail_reusing_a_message_id_for_other_content_is_still_filed(
    intake: Server, mailbox: EmailIntegration
) -> None:
    for subject in ("Disk full on db1", "Disk full on db2"):  # a sender with a fixed ID
        message = mail(to=mailbox.address(), subject=subject)
        message["Message-ID"] = "<fixed@appliance.example.org>"
        assert send(intake, mailbox.address(), message)[0] == 250
    assert sorted(Incident.objects.values_list("title", flat=True)) == [
        "Disk full on db1",
        "Disk full on db2",
    ]


def test_a_message_id_that_is_not_utf8_still_files_the_mail_once(
    intake: Server, mailbox: EmailIntegration
) -> None:
    raw = (
        f"From: dana@example.org\r\nTo: {mailbox.address()}\r\n"
        "Subject: Printer jam\r\nMessage-ID: <caf\xe9.1@example.org>\r\n\r\nStuck.\r\n"
    ).encode("latin-1")
    first = send(intake, mailbox.address(), raw)
    again = send(intake, mailbox.address(), raw)
    assert first == again == (250, f"2.0.0 OK {latest().ref}".encode())
    assert Incident.objects.count() == 1


def test_a_reply_to_two_mailboxes_is_one_note_also_when_retried(
    intake: Server, mailbox: EmailIntegration, reporter: User, make_incident
) -> None:
    other = second_mailbox(mailbox)
    incident = make_incident(reporter)
    for header in (None, "Auto-Submitted"):  # a reply, then an out-of-office answer
        message = mail(
            to=mailbox.address(),
            sender=f"Dana Doe <{reporter.email}>",
            subject=f"Re: [{incident.ref}] Printer on fire",
            text=f"Answer {header}.\n",
        )
        message["Message-ID"] = f"<reply-{header}@mail.example.org>"
        if header:
            message[header] = "auto-replied"
        send_to_many(intake, [mailbox.address(), other.address()], message)
        send_to_many(intake, [other.address(), mailbox.address()], message)  # the retry
    assert Incident.objects.count() == 1
    assert [(n.visibility, n.text[:20]) for n in notes(incident)] == [
        ("public", "Answer None."),
        ("internal", "An automatic reply w"),
    ]


def test_a_message_id_is_remembered_for_thirty_days(mailbox: EmailIntegration) -> None:
    message = mail(to=mailbox.address())
    message["Message-ID"] = "<old.1@mail.example.org>"
    parsed = parse_mail(message.as_bytes(policy=SMTP_POLICY))
    start = timezone.now()
    with travel(start):
        [first] = file_mail(mail=parsed, keys=[mailbox.key])
    with travel(start + dt.timedelta(days=29)):
        [again] = file_mail(mail=parsed, keys=[mailbox.key])
    assert (again.outcome, again.incident) == ("duplicate", first.incident)
    with travel(start + dt.timedelta(days=31)):  # forgotten: a mail like any other
        [late] = file_mail(mail=parsed, keys=[mailbox.key])
    assert late.outcome == "created"
    assert late.incident != first.incident


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("Auto-Submitted", "auto-replied; owner-email=dana@example.org"),
        ("X-Autoreply", "yes"),
        ("Precedence", "auto_reply"),
    ],
)
@pytest.mark.parametrize("closed", [False, True])
def test_an_out_of_office_reply_is_neither_a_note_nor_an_incident(
    intake: Server,
    mailbox: EmailIntegration,
    reporter: User,
    agent: User,
    make_incident,
    header: str,
    value: str,
    closed: bool,
) -> None:
    incident = make_incident(reporter)
    if closed:
        close(incident, agent)
    message = mail(
        to=mailbox.address(),
        sender=f"Dana Doe <{reporter.email}>",
        subject=f"Automatic reply: [{incident.ref}] Printer on fire",
        text="I am out of the office until Monday.\n",
    )
    message[header] = value
    code, reply = send(intake, mailbox.address(), message)
    assert (code, reply) == (250, f"2.0.0 OK {incident.ref}".encode())
    assert Incident.objects.count() == 1  # no follow-up incident, even when closed
    [note] = notes(incident)
    assert note.visibility == "internal"  # never public: that could mail the sender back
    assert note.text == (
        "An automatic reply was not added as a reply: Automatic reply: Printer on fire"
    )
    assert note.actor_label == f"by email from {reporter.email}"


def test_a_monitoring_mail_marked_auto_generated_still_opens_an_incident(
    intake: Server, mailbox: EmailIntegration
) -> None:
    message = mail(to=mailbox.address(), subject="CRON: backup failed")
    message["Auto-Submitted"] = "auto-generated"
    assert send(intake, mailbox.address(), message)[0] == 250
    assert latest().title == "CRON: backup failed"


def test_a_mail_naming_an_incident_its_sender_cannot_see_is_a_fresh_report(
    intake: Server, mailbox: EmailIntegration, reporter: User, make_user, make_incident
) -> None:
    """Issue 7 (13): the follow-up quoted the unseen incident's title to a stranger."""
    incident = make_incident(reporter, title="Payroll server hacked by insider")
    other_reporter = make_user("reporter", username="oscar")  # has an account, not staff
    for sender in ("mallory@evil.example", other_reporter.email):
        message = mail(
            to=mailbox.address(),
            sender=sender,
            subject=f"Re: [{incident.ref}] hello",
            text="Mine is on fire too.\n",
        )
        code, reply = send(intake, mailbox.address(), message)
        fresh = latest()
        assert (code, reply) == (250, f"2.0.0 OK {fresh.ref}".encode())
        assert fresh.pk != incident.pk
        # As if INC-n did not exist: nothing of it, not even the link, is in the new one.
        assert fresh.related_to is None
        assert (fresh.title, fresh.description) == ("hello", "Mine is on fire too.")
        assert "insider" not in str(fresh.timeline.values_list("text", flat=True))
        assert fresh.source == Source.EMAIL
    assert latest().reporter == other_reporter
    # Staff see on INC-n that it was named, by whom, as what; no text of the mail.
    assert [n.visibility for n in notes(incident)] == ["internal", "internal"]
    assert [n.actor_label for n in notes(incident)] == [
        "by email from mallory@evil.example",
        f"by email from {other_reporter.email}",
    ]
    assert all("on fire" not in n.text for n in notes(incident))
    assert not incident.timeline.filter(visibility="public", kind=EntryKind.NOTE).exists()


def test_a_reporters_api_view_of_the_new_report_names_nothing_of_the_unseen_incident(
    intake: Server, mailbox: EmailIntegration, reporter: User, make_user, make_incident, api
) -> None:
    incident = make_incident(reporter, title="Payroll server hacked by insider")
    oscar = make_user("reporter", username="oscar")
    message = mail(to=mailbox.address(), sender=oscar.email, subject=f"[{incident.ref}] hi")
    assert send(intake, mailbox.address(), message)[0] == 250
    client = api(oscar)
    fresh = client.get(f"/api/v1/incidents/{latest().ref}")
    timeline = client.get(f"/api/v1/incidents/{latest().ref}/timeline")
    assert fresh.status_code == 200
    assert "insider" not in fresh.content.decode() + timeline.content.decode()
    assert incident.ref not in fresh.content.decode() + timeline.content.decode()
    assert client.get(f"/api/v1/incidents/{incident.ref}").status_code == 404


def test_a_mail_from_a_staff_address_is_an_internal_note_shown_as_by_email(
    intake: Server, mailbox: EmailIntegration, reporter: User, agent: User, make_incident, api
) -> None:
    """Issue 7 (14): a forged From of a staff address made a public note by that person."""
    incident = make_incident(reporter)
    message = mail(
        to=mailbox.address(),
        sender=f"Alice <{agent.email}>",
        subject=f"[{incident.ref}] Printer on fire",
        text="Ignore the alarm, it is a drill.\n",
    )
    assert send(intake, mailbox.address(), message)[0] == 250
    assert Incident.objects.count() == 1
    [note] = notes(incident)
    assert (note.text, note.visibility, note.actor_user) == (
        "Ignore the alarm, it is a drill.",
        "internal",
        None,
    )
    # The reporter does not see it; staff see it as a mail, in the API and on the page.
    reporter_view = api(reporter).get(f"/api/v1/incidents/{incident.ref}/timeline").json()
    assert all(item["kind"] != "note" for item in reporter_view["items"])
    staff_view = api(agent).get(f"/api/v1/incidents/{incident.ref}/timeline").json()
    [item] = [item for item in staff_view["items"] if item["kind"] == "note"]
    assert item["actor"] == {
        "kind": "integration",
        "username": None,
        "label": f"by email from {agent.email}",
    }
    browser = Client()
    browser.force_login(agent)
    page = browser.get(f"/incidents/{incident.ref}/").content.decode()
    assert f'Added a note <strong class="actor">by email from {agent.email}</strong>' in page


def test_an_administrator_may_make_staff_mail_public(
    intake: Server,
    mailbox: EmailIntegration,
    reporter: User,
    agent: User,
    admin: User,
    make_incident,
    api,
) -> None:
    incident = make_incident(reporter)
    path = f"/api/v1/services/{mailbox.service.pk}/integrations/{mailbox.integration.pk}"
    refused = api(admin).patch(path, {"staff_mail_public": "yes"})
    assert refused.status_code == 422
    assert "staff_mail_public" in str(refused.json()["detail"])
    response = api(admin).patch(path, {"staff_mail_public": True})
    assert response.status_code == 200, response.content
    assert response.json()["options"]["staff_mail_public"] is True
    message = mail(
        to=mailbox.address(),
        sender=agent.email,
        subject=f"[{incident.ref}] Printer on fire",
        text="A technician is on the way.\n",
    )
    assert send(intake, mailbox.address(), message)[0] == 250
    [note] = notes(incident)
    assert (note.visibility, note.actor_label) == ("public", f"by email from {agent.email}")
    page = Client()
    page.force_login(reporter)
    html = page.get(f"/incidents/{incident.ref}/").content.decode()
    assert f'Commented <strong class="actor">by email from {agent.email}</strong>' in html


@pytest.mark.parametrize("auto_reply", [False, True])
def test_strangers_and_auto_replies_are_rate_limited_per_sender_and_incident(
    intake: Server,
    mailbox: EmailIntegration,
    reporter: User,
    make_incident,
    auto_reply: bool,
) -> None:
    incident = make_incident(reporter, title="Secret title")
    other = make_incident(reporter, title="Another one")

    def from_stranger(sender: str, target: Incident, n: int) -> None:
        message = mail(
            to=mailbox.address(),
            sender=sender,
            subject=f"Out of office: [{target.ref}] attempt {n}",
            text=f"Attempt {n}\n",
        )
        if auto_reply:
            message["Auto-Submitted"] = "auto-replied"
        assert send(intake, mailbox.address(), message)[0] == 250

    for n in range(MAIL_NOTES_PER_HOUR + 3):
        from_stranger("mallory@evil.example", incident, n)
    from_stranger("eve@evil.example", incident, 99)  # another sender has its own count
    from_stranger("mallory@evil.example", other, 99)  # and so has another incident
    by_mallory = [n for n in notes(incident) if "mallory" in n.actor_label]
    assert len(by_mallory) == MAIL_NOTES_PER_HOUR
    assert len([n for n in notes(incident) if "eve@" in n.actor_label]) == 1
    assert len(notes(other)) == 1
    # Nothing of the mails is quoted into an incident the stranger cannot see.
    assert all("attempt" not in n.text.lower() for n in notes(incident) + notes(other))
    # An hour later the sender may be heard again (the count lives in the database).
    TimelineEntry.objects.filter(incident=incident).update(
        created_at=F("created_at") - dt.timedelta(minutes=61)
    )
    from_stranger("mallory@evil.example", incident, 100)
    assert len([n for n in notes(incident) if "mallory" in n.actor_label]) == (
        MAIL_NOTES_PER_HOUR + 1
    )


def test_reply_to_a_closed_incident_is_a_new_linked_incident(
    intake: Server, mailbox: EmailIntegration, reporter: User, agent: User, make_incident
) -> None:
    incident = make_incident(reporter)
    close(incident, agent)
    message = mail(
        to=mailbox.address(),
        sender=reporter.email,
        subject=f"Re: [{incident.ref}] Printer on fire",
        text="It is burning again.\n",
    )
    message.add_attachment(png_bytes(), maintype="image", subtype="png", filename="again.png")

    assert send(intake, mailbox.address(), message)[0] == 250

    incident.refresh_from_db()
    assert incident.status == Status.CLOSED
    follow_up = latest()
    assert follow_up.pk != incident.pk
    assert follow_up.related_to == incident
    assert follow_up.reporter == reporter
    assert f"{incident.ref} is closed" in follow_up.description
    assert [a.filename for a in follow_up.attachments.all()] == ["again.png"]
    [note] = notes(incident)
    assert note.visibility == "internal"
    assert follow_up.ref in note.text


def test_an_unknown_incident_reference_opens_a_new_incident(
    intake: Server, mailbox: EmailIntegration, reporter: User
) -> None:
    message = mail(
        to=mailbox.address(),
        sender=reporter.email,
        subject="Re: [INC-999] Lost keyboard",
        text="Still missing.\n",
    )
    assert send(intake, mailbox.address(), message)[0] == 250
    incident = latest()
    assert incident.number != 999
    assert incident.related_to is None
    assert incident.title == "Lost keyboard"
    assert incident.description == "Still missing."
