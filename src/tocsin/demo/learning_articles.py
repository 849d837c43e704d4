"""The demo organisation's knowledge base: 22 articles on the demo services, public ones
(the reporters' portal shows them and suggests them while someone types a report) and
internal ones (the desk's and the responders' notes), some edited since they were
written (so their history has more than one version), and one recorded as having solved
a past incident ("this article solved it")."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tocsin.accounts.models import User
from tocsin.catalog.models import Category, Service
from tocsin.core.actors import Actor
from tocsin.core.clock import now, travel
from tocsin.incidents.models import Incident, Status
from tocsin.learning import articles
from tocsin.learning.models import Article, ArticleSolution


@dataclass(frozen=True)
class Doc:
    title: str
    visibility: str
    tags: str
    services: tuple[str, ...]
    categories: tuple[str, ...]
    author: str
    body: str
    # a later edit: (who, what changed, the new body)
    edit: tuple[str, str, str] | None = None


PUBLIC, INTERNAL = "public", "internal"

DOCS: list[Doc] = [
    Doc(
        "VPN disconnects every hour",
        PUBLIC,
        "vpn remote-access",
        ("VPN",),
        ("Network",),
        "sam",
        "If the VPN drops about once an hour, your client is older than version 9.2.\n\n"
        "1. Open **Software Center** and install *GlobalConnect 9.2*.\n"
        "2. Restart the laptop.\n"
        "3. Connect again with your usual sign-in.\n\n"
        "Still dropping? Report it with the time it dropped.",
        (
            "lucia",
            "Mention the hotel Wi-Fi case",
            "If the VPN drops about once an hour, your client is older than version 9.2.\n\n"
            "1. Open **Software Center** and install *GlobalConnect 9.2*.\n"
            "2. Restart the laptop.\n"
            "3. Connect again with your usual sign-in.\n\n"
            "On hotel or café Wi-Fi, accept the network's terms page in a browser **before** "
            "connecting the VPN.\n\nStill dropping? Report it with the time it dropped.",
        ),
    ),
    Doc(
        "VPN says “authentication failed”",
        PUBLIC,
        "vpn mfa password",
        ("VPN", "Single sign-on"),
        ("Network", "Access"),
        "lucia",
        "The VPN uses your company password **and** an MFA prompt.\n\n"
        "- Check that you approved the prompt on your phone within 60 seconds.\n"
        "- If you changed your password today, sign out of Windows and back in first.\n"
        "- Locked out after 5 attempts? Wait 15 minutes, or reset your password at "
        "[the password page](https://password.example.com).",
    ),
    Doc(
        "VPN gateway: address pool exhausted",
        INTERNAL,
        "vpn capacity dhcp",
        ("VPN",),
        ("Network",),
        "noah",
        "Symptom: new VPN sessions fail while existing ones work; gateway log shows "
        "`IP pool exhausted`.\n\n"
        "```\nvpnctl pool show gw-2\nvpnctl pool extend gw-2 --size 512\n```\n\n"
        "Then drain gw-2 for 5 minutes (`vpnctl drain gw-2 --grace 300`) so clients move "
        "to gw-1. Raise a change to make the pool size permanent.",
    ),
    Doc(
        "Connect to the office Wi-Fi",
        PUBLIC,
        "wifi network",
        ("Wi-Fi",),
        ("Network",),
        "olivia",
        "Staff devices join **Corp** with your company sign-in; phones and guests join "
        "**Guest** with the code on the reception screen.\n\n"
        "If Corp keeps asking for your password, *forget* the network and join it again.",
    ),
    Doc(
        "Wi-Fi controller failover",
        INTERNAL,
        "wifi controller ha",
        ("Wi-Fi",),
        ("Network",),
        "ines",
        "The two controllers run active/standby. If the active one stops answering:\n\n"
        "1. Check `wlc-1` from the jump host: `ping wlc-1.mgmt`.\n"
        "2. Force the standby: `wlcctl ha takeover --node wlc-2`.\n"
        "3. Access points re-join within 2 minutes; watch the AP count on the dashboard.",
    ),
    Doc(
        "Email stuck in the Outbox",
        PUBLIC,
        "email outlook",
        ("Email",),
        ("Email",),
        "sam",
        "An email stays in the Outbox when it is too large or Outlook is offline.\n\n"
        "- Attachments over **25 MB** are refused: share a link from File storage instead.\n"
        "- Check the bottom bar of Outlook says *Connected*.\n"
        "- Drag the message to Drafts, open it and send it again.",
    ),
    Doc(
        "Mailbox full",
        PUBLIC,
        "email mailbox quota",
        ("Email",),
        ("Email",),
        "olivia",
        "Mailboxes hold 50 GB. When yours is full you can read but not send.\n\n"
        "1. Empty **Deleted Items**.\n"
        "2. Use *Archive* on mail older than a year (it stays searchable).\n"
        "3. Large attachments: sort by size and delete or save them to File storage.",
    ),
    Doc(
        "Report a phishing email",
        PUBLIC,
        "email phishing security",
        ("Email",),
        ("Email",),
        "lucia",
        "Do **not** click links or open attachments. Use the *Report phishing* button in "
        "Outlook; it sends the message to security and removes it from your mailbox.\n\n"
        "Clicked already? Report a problem at once and say so: we reset your sessions.",
    ),
    Doc(
        "Outbound relay queue backing up",
        INTERNAL,
        "email smtp relay queue",
        ("Email",),
        ("Email",),
        "ravi",
        "Alert `relay_queue_depth > 5000`. Usually one sender looping.\n\n"
        "```\npostqueue -p | tail -n 1\nqshape deferred | head\n```\n\n"
        "Block the looping sender at the relay, then flush: `postqueue -f`. Tell the "
        "sender's team before unblocking.",
    ),
    Doc(
        "Reset your password",
        PUBLIC,
        "password sso access",
        ("Single sign-on",),
        ("Access",),
        "sam",
        "Go to [the password page](https://password.example.com), choose *Forgot password* "
        "and approve the MFA prompt. The new password works everywhere within 5 minutes.\n\n"
        "| Rule | Minimum |\n| --- | --- |\n| Length | 14 characters |\n| History | not one of "
        "your last 10 |",
    ),
    Doc(
        "New phone: move your MFA",
        PUBLIC,
        "mfa phone sso",
        ("Single sign-on",),
        ("Access",),
        "olivia",
        "Before you wipe the old phone, open *My sign-ins*, add the new phone and approve a "
        "test prompt on it. Lost the old phone already? Report a problem: the desk verifies "
        "you by video call and issues a one-time code.",
    ),
    Doc(
        "SSO signing certificate rollover",
        INTERNAL,
        "sso saml certificate",
        ("Single sign-on",),
        ("Access",),
        "noah",
        "The SAML signing certificate expires every two years (next: see the calendar).\n\n"
        "1. Publish the new certificate as *secondary* two weeks ahead.\n"
        "2. Ask application owners to import the metadata.\n"
        "3. Swap primary/secondary at the change window; keep the old one for 7 days.",
        (
            "arjun",
            "Add the applications that pin the certificate",
            "The SAML signing certificate expires every two years (next: see the "
            "calendar).\n\n"
            "1. Publish the new certificate as *secondary* two weeks ahead.\n"
            "2. Ask application owners to import the metadata.\n"
            "3. Swap primary/secondary at the change window; keep the old one for 7 days.\n\n"
            "Payroll and the Customer portal **pin** the certificate: their owners must "
            "upload it by hand.",
        ),
    ),
    Doc(
        "Printer shows “paper jam” with no paper stuck",
        PUBLIC,
        "printer hardware",
        ("End-user devices",),
        ("Hardware",),
        "lucia",
        "Open tray 2 and the back door, look for a torn scrap and pull it out gently. "
        "Switch the printer off for 30 seconds. If the message stays, report it with the "
        "printer's name (the sticker on the front, e.g. *PRN-2F-EAST*).",
    ),
    Doc(
        "Laptop will not charge",
        PUBLIC,
        "laptop battery hardware",
        ("End-user devices",),
        ("Hardware",),
        "sam",
        "Try another socket and check the light on the charger. Hold the power button for "
        "15 seconds with the charger in. A swollen battery or a charger that smells hot: "
        "stop using it and report a problem — we swap it the same day.",
    ),
    Doc(
        "Second monitor not detected",
        PUBLIC,
        "monitor dock hardware",
        ("End-user devices",),
        ("Hardware",),
        "olivia",
        "Unplug the dock's power for 10 seconds, then press **Win+P** and choose *Extend*. "
        "Use the dock's DisplayPort, not the USB-C port on the laptop's right side.",
    ),
    Doc(
        "Desk phone shows “No service”",
        PUBLIC,
        "phone telephony",
        ("Telephony",),
        ("Hardware",),
        "lucia",
        "Check the network cable goes into the port marked **LAN** on the phone (the PC "
        "plugs into the phone's other port). Restart the phone by unplugging it. Several "
        "phones down at once is an outage: report it as such.",
    ),
    Doc(
        "SIP trunk failover to the backup carrier",
        INTERNAL,
        "telephony sip carrier",
        ("Telephony",),
        ("Network",),
        "chloe",
        "If inbound calls fail and the carrier status page is red, route to the backup "
        "carrier: `sbcctl route set inbound --carrier backup`. Outbound follows "
        "automatically. Switch back after 30 minutes of green on the primary.",
    ),
    Doc(
        "Payslip not showing in the portal",
        PUBLIC,
        "payroll payslip",
        ("Payroll",),
        ("Application",),
        "sam",
        "Payslips appear on the **last working day** at 08:00. Earlier than that the list is "
        "empty on purpose. Sign out and in again if the month is missing after that time.",
    ),
    Doc(
        "Payroll run: rerun a failed export",
        INTERNAL,
        "payroll export batch",
        ("Payroll",),
        ("Application",),
        "arjun",
        "A failed bank export leaves the run in *EXPORT_FAILED*. Never rerun the whole "
        "payroll. From the batch host:\n\n```\npayrollctl export --run <id> --resume\n```\n\n"
        "Then check the file count with finance before it is sent to the bank.",
    ),
    Doc(
        "Customer portal: “session expired” loop",
        PUBLIC,
        "portal login cookies",
        ("Customer portal",),
        ("Application",),
        "olivia",
        "Allow cookies for *portal.example.com*, close every portal tab and sign in again. "
        "Private browsing windows lose the session when closed.",
    ),
    Doc(
        "Shared drive is read-only",
        PUBLIC,
        "files storage permissions",
        ("File storage",),
        ("Access",),
        "lucia",
        "You can read but not write when your team has not granted you *Editor*. Ask the "
        "folder's owner (right-click → Properties → Owner) or report a problem naming the "
        "folder.",
    ),
    Doc(
        "Nightly warehouse load late",
        INTERNAL,
        "warehouse etl batch",
        ("Data warehouse",),
        ("Application",),
        "ravi",
        "The 02:00 load waits for the orders extract. If it is late past 06:00:\n\n"
        "1. `etlctl status nightly` — find the step that is waiting.\n"
        "2. A stuck extract: `etlctl retry orders_extract`.\n"
        "3. Post in #sales-reports that the reports are late, with a time.",
    ),
    Doc(
        "Intranet search returns nothing",
        PUBLIC,
        "intranet search",
        ("Intranet",),
        ("Application",),
        "sam",
        "The search index rebuilds on Sunday nights; pages published since then are found "
        "by their exact title only. Use quotes for a phrase, e.g. “travel policy”.",
    ),
]


def _users() -> dict[str, User]:
    names = {d.author for d in DOCS} | {d.edit[0] for d in DOCS if d.edit}
    return {u.username: u for u in User.objects.filter(username__in=names)}


def write_articles(end: dt.datetime | None = None) -> None:
    """The knowledge base (deterministic: the same articles, times and authors)."""
    end = end or now()
    if Article.objects.exists():
        return
    users = _users()
    services = {s.name: s for s in Service.objects.all()}
    categories = {c.name: c for c in Category.objects.filter(parent__isnull=True)}
    fallback = next(iter(users.values()), None)
    for i, doc in enumerate(DOCS):
        author = users.get(doc.author, fallback)
        actor = Actor.for_user(author) if author is not None else Actor.system("demo")
        fields = articles.check_fields(
            title=doc.title,
            body=doc.body,
            visibility=doc.visibility,
            tags=doc.tags,
            services=[services[n] for n in doc.services if n in services],
            categories=[categories[n] for n in doc.categories if n in categories],
        )
        with travel(end - dt.timedelta(days=90 - 3 * i, hours=i % 7)):
            article = articles.article_create(actor=actor, fields=fields, note="First version")
        if doc.edit is not None:
            who, note, body = doc.edit
            editor = users.get(who, author)
            edited = articles.check_fields(
                title=doc.title,
                body=body,
                visibility=doc.visibility,
                tags=doc.tags,
                services=fields.services,
                categories=fields.categories,
            )
            with travel(end - dt.timedelta(days=20 - i % 10, hours=3)):
                articles.article_edit(
                    actor=Actor.for_user(editor) if editor is not None else actor,
                    article=article,
                    fields=edited,
                    note=note,
                )
    _record_a_solution(end)


def _record_a_solution(end: dt.datetime) -> None:
    """The newest closed VPN incident was solved by the public VPN article."""
    article = Article.objects.filter(title="VPN disconnects every hour").first()
    incident = (
        Incident.objects.filter(service__name="VPN", status__in=[Status.RESOLVED, Status.CLOSED])
        .order_by("-number")
        .first()
    )
    if article is None or incident is None:
        return
    if ArticleSolution.objects.filter(incident=incident, article=article).exists():
        return
    by = incident.assignee or incident.reporter
    actor = Actor.for_user(by) if by is not None else Actor.system("demo")
    at = incident.resolved_at or end
    with travel(min(at, end)):
        articles.article_solved(actor=actor, incident=incident, article=article)
