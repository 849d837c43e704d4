"""The demo organisation: people, teams, services, a taxonomy, 90 days of incidents,
monitoring alerts and on-call schedules (`demo/oncall.py`).

Everything is written through the real services inside `clock.travel()` blocks, so the
history is exactly what Tocsin itself would have recorded: timeline entries, SLA clocks,
breaches, merges, reopenings and auto-closes. Deterministic for a given seed.

Loading is idempotent: a marker counter records that the demo is there, and the whole
load is one transaction, so a second `tocsin up --demo` finds the marker and adds nothing.
"""

from __future__ import annotations

import datetime as dt
import functools
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import Min, Q

from tocsin.accounts.models import Role, Team, User
from tocsin.accounts.services import team_create, user_create
from tocsin.catalog.models import Category, Service
from tocsin.catalog.services import category_create, service_create
from tocsin.core.actors import Actor
from tocsin.core.clock import now, travel
from tocsin.core.errors import Conflict
from tocsin.core.models import Counter
from tocsin.demo.alerts import DEMO_ACTOR, write_alerts
from tocsin.demo.automation import write_webhooks
from tocsin.demo.escalation import write_escalation
from tocsin.demo.learning_actions import write_action_items
from tocsin.demo.learning_articles import write_articles
from tocsin.demo.learning_problems import write_problems
from tocsin.demo.learning_runbooks import write_runbooks
from tocsin.demo.major import write_major
from tocsin.demo.noise import write_noise
from tocsin.demo.oncall import write_schedules
from tocsin.demo.oncall_load import write_oncall_load
from tocsin.demo.paging import write_paging
from tocsin.demo.response import write_response
from tocsin.demo.statuspage import write_statuspage
from tocsin.demo.updates import write_updates
from tocsin.incidents import services, sla
from tocsin.incidents.models import Incident, Source, Visibility
from tocsin.incidents.priority import DEFAULT_MATRIX
from tocsin.notify.models import OutboxMessage
from tocsin.reports.facts import rebuild as rebuild_report_facts

DEMO_MARKER = "demo-organisation"
DEMO_PASSWORD = "demo"  # public on purpose: `tocsin up --demo` prints it
HISTORY_DAYS = 90

# --- the organisation -------------------------------------------------------------

# username, name, role, time zone
PEOPLE: list[tuple[str, str, str, str]] = [
    ("ada", "Ada Lindqvist", Role.ADMIN, "Europe/London"),
    ("maya", "Maya Fischer", Role.MANAGER, "Europe/London"),
    ("daniel", "Daniel Mensah", Role.MANAGER, "America/New_York"),
    ("tom", "Tom Becker", Role.MANAGER, "Europe/Berlin"),
    ("priya", "Priya Raman", Role.MANAGER, "Asia/Kolkata"),
    ("sam", "Sam O'Neill", Role.AGENT, "Europe/London"),
    ("lucia", "Lucía Gómez", Role.AGENT, "America/New_York"),
    ("olivia", "Olivia Nguyen", Role.AGENT, "Australia/Sydney"),
    ("noah", "Noah Williams", Role.RESPONDER, "America/New_York"),
    ("ravi", "Ravi Iyer", Role.RESPONDER, "Asia/Kolkata"),
    ("arjun", "Arjun Mehta", Role.RESPONDER, "Asia/Kolkata"),
    ("ines", "Inês Carvalho", Role.RESPONDER, "Europe/Lisbon"),
    ("chloe", "Chloe Martin", Role.RESPONDER, "Australia/Sydney"),
    ("rita", "Rita Costa", Role.REPORTER, "Europe/Lisbon"),
    ("ben", "Ben Carter", Role.REPORTER, "America/Chicago"),
    ("mei", "Mei Chen", Role.REPORTER, "Australia/Sydney"),
    ("omar", "Omar Haddad", Role.REPORTER, "Asia/Dubai"),
]

# name, description, manager, members
TEAMS: list[tuple[str, str, str, list[str]]] = [
    (
        "Service Desk",
        "First line: takes every report, solves what it can, escalates the rest.",
        "maya",
        ["maya", "sam", "lucia", "olivia"],
    ),
    (
        "Network",
        "LAN, Wi-Fi, VPN, DNS, firewalls and telephony.",
        "daniel",
        ["daniel", "noah", "ravi"],
    ),
    (
        "Platform",
        "Identity, email, storage and the data platform.",
        "tom",
        ["tom", "arjun", "ines"],
    ),
    (
        "Applications",
        "Customer portal, payroll and line-of-business applications.",
        "priya",
        ["priya", "chloe"],
    ),
]

# name, description, owning team
SERVICES: list[tuple[str, str, str]] = [
    ("Email", "Company mail, calendars and the outbound relay.", "Platform"),
    ("VPN", "Remote access for staff.", "Network"),
    ("Wi-Fi", "Office wireless networks, staff and guest.", "Network"),
    ("Payroll", "Monthly payroll run and payslips.", "Applications"),
    (
        "Customer portal",
        "portal.example.com: invoices, orders and support for customers.",
        "Applications",
    ),
    ("Single sign-on", "Identity provider, MFA and password resets.", "Platform"),
    ("File storage", "Shared drives and the file servers.", "Platform"),
    ("End-user devices", "Laptops, monitors, printers and peripherals.", "Service Desk"),
    ("Telephony", "Desk phones and the SIP trunks.", "Network"),
    ("Data warehouse", "Nightly loads and the sales reports built on them.", "Platform"),
    ("Intranet", "The internal wiki and news site.", "Applications"),
]

TAXONOMY: dict[str, list[str]] = {
    "Network": ["VPN", "Wi-Fi", "DNS", "Firewall"],
    "Application": ["Login", "Error", "Performance", "Data"],
    "Hardware": ["Laptop", "Printer", "Desk phone", "Monitor"],
    "Access": ["Password reset", "MFA", "Permissions", "New account"],
    "Email": ["Delivery", "Mailbox", "Spam and phishing"],
}

# Outside reporters (customers who wrote or phoned in).
OUTSIDERS: list[tuple[str, str]] = [
    ("Hannah Schmidt", "h.schmidt@bergmann-logistik.example"),
    ("Carlos Ortega", "carlos.ortega@ortega-foods.example"),
    ("Aiko Tanaka", "aiko@tanaka-design.example"),
    ("James Whitfield", "jwhitfield@whitfield-legal.example"),
]


@dataclass(frozen=True)
class Scenario:
    key: str
    service: str
    category: str
    subcategory: str
    team: str  # who solves it; "Service Desk" means first line solves it
    impact: int
    urgency: int
    titles: tuple[str, ...]
    description: str
    notes: tuple[str, ...]
    public_update: str
    resolution_code: str
    resolution_notes: str
    sources: tuple[str, ...] = (Source.PORTAL,)
    hold: str = ""
    affected: tuple[str, ...] = ()
    monitoring: bool = False
    outsider: bool = False

    @property
    def priority(self) -> int:
        """The nominal priority, for planning the story (the services apply the real matrix)."""
        return DEFAULT_MATRIX[self.urgency][self.impact]


SCENARIOS: list[Scenario] = [
    Scenario(
        "email-outage",
        "Email",
        "Email",
        "Delivery",
        "Platform",
        1,
        1,
        (
            "No outgoing email since this morning",
            "Email not being delivered company-wide",
            "Outbound mail stuck in the queue",
        ),
        "Nothing I send leaves my outbox. Colleagues in finance and sales report the same, "
        "and customers say they have not received this morning's invoices.",
        (
            "Outbound relay queue at 14k messages; the smarthost rejects our TLS handshake.",
            "Certificate on the mail relay expired at 09:38 UTC; the renewal job failed silently.",
        ),
        "We have found the cause (an expired certificate on our mail relay) and are replacing "
        "it. Queued mail will be delivered once it is fixed; nothing is lost.",
        "fixed",
        "Renewed the relay certificate and restarted postfix; the queue drained in 25 minutes. "
        "Certificate expiry is now monitored.",
        sources=(Source.PHONE, Source.PORTAL),
        affected=("Customer portal",),
    ),
    Scenario(
        "portal-502",
        "Customer portal",
        "Application",
        "Error",
        "Applications",
        1,
        1,
        ("Customer portal returning 502 Bad Gateway", "PortalHighErrorRate: 5xx above 40%"),
        "Alert PortalHighErrorRate firing: 5xx ratio 0.43 over 5m on portal-web (prod).",
        (
            "Upstream pods crash-looping since the 14:05 deploy (release 2024.6.3).",
            "Rolled back to the previous release; error rate falling.",
        ),
        "The customer portal is unavailable for many customers. We have identified a faulty "
        "release and are rolling it back.",
        "fixed",
        "Rolled back the release. Root cause: a database migration missing from the release "
        "pipeline. Postmortem to follow.",
        sources=(Source.MONITORING,),
        monitoring=True,
    ),
    Scenario(
        "payroll-run",
        "Payroll",
        "Application",
        "Error",
        "Applications",
        2,
        1,
        ("Payroll run fails at the tax calculation step", "Monthly payroll export aborted"),
        "The payroll batch stopped at step 4/7 (tax calculation) with 'ORA-01653: unable to "
        "extend table'. Salaries must be released by 16:00 today.",
        (
            "Tablespace PAYROLL_DATA at 100%; DBA adding a datafile.",
            "Batch restarted from step 4 after the space was added.",
        ),
        "Payroll processing is delayed; we expect to complete today's run before the bank cut-off.",
        "fixed",
        "Extended the tablespace and re-ran the batch from the tax step; all 1,284 payslips "
        "generated. Capacity alert added at 85%.",
        sources=(Source.PHONE,),
    ),
    Scenario(
        "vpn-gateway",
        "VPN",
        "Network",
        "VPN",
        "Network",
        1,
        1,
        ("VPN gateway vpn-gw-1 down", "VpnGatewayDown: vpn-gw-1 unreachable"),
        "Alert VpnGatewayDown firing for vpn-gw-1 (London); 310 sessions dropped.",
        (
            "vpn-gw-1 unreachable on all interfaces; the HA peer did not take over.",
            "On-site engineer reports a failed power supply; forcing failover to vpn-gw-2.",
        ),
        "Remote access is disrupted for staff connecting through London. Sessions are being "
        "moved to the second gateway; please reconnect if you were dropped.",
        "fixed",
        "Power supply replaced, HA pair re-synchronised; failover tested successfully.",
        sources=(Source.MONITORING,),
        monitoring=True,
        affected=("Email", "File storage"),
    ),
    Scenario(
        "sso-loop",
        "Single sign-on",
        "Application",
        "Login",
        "Platform",
        2,
        2,
        ("Login loop on single sign-on after entering MFA code", "Can't get past the SSO page"),
        "After I approve the push notification the page reloads and asks me to sign in "
        "again. Happens in Chrome and Edge.",
        (
            "IdP logs show clock-skew errors from idp-02; its NTP service stopped.",
            "Restarted chrony on idp-02 and took it out of the pool until verified.",
        ),
        "We know that some sign-ins loop back to the login page and are working on it. "
        "Retrying usually succeeds.",
        "configuration",
        "Fixed time synchronisation on identity provider node idp-02; clock drift is now "
        "monitored.",
        affected=("Email", "Payroll"),
    ),
    Scenario(
        "vpn-drops",
        "VPN",
        "Network",
        "VPN",
        "Network",
        2,
        2,
        (
            "VPN disconnects every few minutes",
            "VPN keeps dropping for the Sydney office",
            "Unable to stay connected to VPN",
        ),
        "Since this morning my VPN connection drops every 5–10 minutes and I lose my remote "
        "desktop session. My home broadband is fine otherwise.",
        (
            "Concentrator vpn-gw-2 shows DPD timeouts for clients in the APAC pool.",
            "Address pool exhausted after the subnet change: 240 addresses for 300 users.",
        ),
        "Some VPN users are being disconnected. We found a capacity problem on one gateway and "
        "are fixing it.",
        "configuration",
        "Enlarged the APAC address pool from /24 to /23 and rebalanced the gateways.",
        sources=(Source.PORTAL, Source.CHAT),
    ),
    Scenario(
        "vpn-cert",
        "VPN",
        "Network",
        "VPN",
        "Service Desk",
        4,
        2,
        ("VPN client says 'certificate validation failure'", "Cannot connect to VPN from hotel"),
        "Travelling this week; the VPN client fails with 'certificate validation failure' "
        "whenever I try to connect.",
        (
            "Machine certificate expired last week; the laptop has not been on the office network "
            "for 40 days.",
            "Remote session booked to renew the certificate over the SSL fallback portal.",
        ),
        "Your device certificate has expired. We can renew it remotely at a time that suits you.",
        "fixed",
        "Renewed the device certificate remotely over the SSL fallback portal; VPN connects.",
        sources=(Source.PORTAL, Source.EMAIL),
        hold="Waiting for the user to be available for a remote session.",
    ),
    Scenario(
        "wifi-floor",
        "Wi-Fi",
        "Network",
        "Wi-Fi",
        "Network",
        3,
        2,
        ("Wi-Fi very slow on the 3rd floor", "No Wi-Fi in the level 3 meeting rooms"),
        "Wi-Fi on the 3rd floor is unusable since this morning; video calls keep freezing. "
        "The wired desks are fine.",
        (
            "AP-3F-07 and AP-3F-09 offline; PoE errors on the switch in comms room 3B.",
            "The PoE line card in 3B is faulty; spare taken from stock.",
        ),
        "Two wireless access points on the 3rd floor have failed; an engineer is on site.",
        "fixed",
        "Replaced the PoE line card; all 12 access points on floor 3 are back online.",
        sources=(Source.PORTAL, Source.CHAT, Source.PHONE),
    ),
    Scenario(
        "wifi-guest",
        "Wi-Fi",
        "Network",
        "Wi-Fi",
        "Service Desk",
        4,
        3,
        ("Guest Wi-Fi sign-in page not loading", "Visitor cannot get onto guest Wi-Fi"),
        "Our visitors today can't get the guest Wi-Fi sign-in page on their phones.",
        (
            "Captive portal healthy; the visitor's phone uses private DNS, which bypasses the "
            "portal.",
        ),
        "The guest portal works; phones with 'private DNS' switched on need it off while "
        "signing in.",
        "user-error",
        "Explained the private-DNS setting to reception and added it to the visitor leaflet.",
        sources=(Source.PHONE, Source.PORTAL),
    ),
    Scenario(
        "account-locked",
        "Single sign-on",
        "Access",
        "Password reset",
        "Service Desk",
        4,
        2,
        ("Locked out after password change", "Password reset link has expired", "Account locked"),
        "I changed my password yesterday and now my account is locked. I have a customer "
        "meeting in an hour.",
        (
            "Locked by 25 failed attempts from the mail app on the user's old phone (cached "
            "password).",
        ),
        "Your account is unlocked. Please update the password in the mail app on your phone, "
        "which kept trying the old one.",
        "user-error",
        "Unlocked the account; stale credentials removed from the mobile device.",
        sources=(Source.PHONE, Source.CHAT, Source.PORTAL),
    ),
    Scenario(
        "mfa-phone",
        "Single sign-on",
        "Access",
        "MFA",
        "Service Desk",
        4,
        2,
        ("New phone: can't approve MFA prompts", "Authenticator app lost my account"),
        "I got a new phone and the authenticator app no longer has my work account.",
        ("Identity verified by video call with the line manager present.",),
        "We have reset your MFA registration; you will be asked to set it up again at your "
        "next sign-in.",
        "fixed",
        "MFA method reset after identity verification; user re-enrolled.",
        sources=(Source.PHONE, Source.CHAT),
    ),
    Scenario(
        "share-access",
        "File storage",
        "Access",
        "Permissions",
        "Service Desk",
        4,
        3,
        ("No access to the Finance shared drive", "Access denied on the Projects share"),
        "Since moving to the finance team I get 'access denied' on the Finance share.",
        ("Group change requested in the HR system but not synchronised to the directory yet.",),
        "The share owner has to approve access; we have sent them the request.",
        "configuration",
        "Added the user to FIN-Share-RW after the owner approved.",
        hold="Waiting for the share owner's approval.",
    ),
    Scenario(
        "laptop-battery",
        "End-user devices",
        "Hardware",
        "Laptop",
        "Service Desk",
        4,
        3,
        ("Laptop battery drains in under an hour", "Laptop won't charge past 60%"),
        "My laptop battery goes from 100% to 10% in about 50 minutes, and it gets very hot.",
        ("Battery report: 41% of design capacity. Still under warranty.",),
        "Your battery is worn out and covered by warranty; we have ordered a replacement.",
        "fixed",
        "Battery replaced under warranty.",
        hold="Replacement battery ordered from the vendor; expected in 3 working days.",
    ),
    Scenario(
        "laptop-bsod",
        "End-user devices",
        "Hardware",
        "Laptop",
        "Service Desk",
        4,
        2,
        (
            "Laptop crashes with a blue screen when docked",
            "Blue screen DRIVER_IRQL_NOT_LESS_OR_EQUAL",
        ),
        "Since last night's updates my laptop shows a blue screen every time I dock it.",
        ("Crash dump points at the dock's display driver, version 10.2.",),
        "A display driver for the docking station is crashing; we are pushing an updated "
        "driver to your laptop.",
        "fixed",
        "Updated the DisplayLink driver to 11.1; docking is stable.",
        sources=(Source.PORTAL, Source.PHONE),
    ),
    Scenario(
        "printer",
        "End-user devices",
        "Hardware",
        "Printer",
        "Service Desk",
        4,
        4,
        ("Printer on floor 2 prints blank pages", "Print jobs stuck in the queue on PRN-2F"),
        "The big printer by the kitchen on floor 2 prints blank pages for every job.",
        ("Test page also blank; toner reports full. Vendor call logged.",),
        "The printer needs a vendor visit; please use PRN-2B by the lifts in the meantime.",
        "third-party",
        "Faulty toner cartridge replaced by the print vendor.",
        hold="Waiting for the print vendor's engineer visit.",
    ),
    Scenario(
        "portal-slow",
        "Customer portal",
        "Application",
        "Performance",
        "Applications",
        2,
        3,
        ("Customer portal slow to load invoices", "Invoice page takes 30+ seconds"),
        "Dear support, for two days your portal has needed more than 30 seconds to show my "
        "invoices, and sometimes it times out.",
        ("Slow query on the invoice list: an index went missing in the last schema change.",),
        "Thank you for reporting this. We found a slow database query and are deploying a fix.",
        "fixed",
        "Added the index on invoice(customer_id, issued_at); the page loads in 0.4 s.",
        sources=(Source.EMAIL,),
        outsider=True,
    ),
    Scenario(
        "portal-reset",
        "Customer portal",
        "Application",
        "Login",
        "Applications",
        4,
        2,
        ("Cannot log in to the customer portal", "Portal password reset email never arrives"),
        "I request a password reset on your portal but the email never arrives (I checked spam).",
        ("The customer's mail server rejects our messages: the SPF record lacks the new relay.",),
        "We found why our emails do not reach you and are correcting our mail settings.",
        "configuration",
        "Added the new relay to our SPF record; the customer received the reset mail.",
        sources=(Source.EMAIL, Source.PHONE),
        outsider=True,
    ),
    Scenario(
        "mailbox-full",
        "Email",
        "Email",
        "Mailbox",
        "Service Desk",
        4,
        2,
        ("Mailbox full, cannot send email", "Outlook says my mailbox is over its limit"),
        "Outlook says my mailbox is full and I cannot send anything.",
        ("Mailbox at 49.8 of 50 GB; online archive not enabled for this account.",),
        "We have enabled your online archive; older mail moves there automatically.",
        "workaround",
        "Enabled the online archive and moved mail older than two years.",
        sources=(Source.PORTAL, Source.CHAT),
    ),
    Scenario(
        "phishing",
        "Email",
        "Email",
        "Spam and phishing",
        "Platform",
        3,
        1,
        (
            "Suspicious email asking to 'verify payroll details'",
            "Phishing mail received by several colleagues",
        ),
        "Several of us received an email from 'Payroll Team' asking us to log in on a strange "
        "site to verify our bank details.",
        (
            "142 recipients; 3 clicked the link, none entered credentials according to the proxy "
            "logs.",
            "Purged the message from all mailboxes; sender domain and URL blocked.",
        ),
        "This email is a phishing attempt. Do not click the link; if you did, please tell us. "
        "We have removed it from all mailboxes.",
        "fixed",
        "Message purged, domain and URL blocked; the 3 users who clicked had their sessions "
        "revoked as a precaution.",
        sources=(Source.PORTAL, Source.EMAIL),
    ),
    Scenario(
        "dns",
        "Intranet",
        "Network",
        "DNS",
        "Network",
        2,
        2,
        ("Internal sites not resolving (intranet, wiki)", "DNS lookups failing in London"),
        "The intranet and the wiki say 'server not found' from the London office.",
        (
            "dns-lon-1 out of memory; the resolver cache is thrashing.",
            "Restarted the resolver; added dns-lon-2 to the DHCP scope.",
        ),
        "Some internal sites cannot be reached from the London office. We are fixing a DNS server.",
        "fixed",
        "Restarted the resolver, raised its memory limit and added the second resolver to "
        "the DHCP scope.",
        sources=(Source.CHAT, Source.PHONE),
    ),
    Scenario(
        "telephony",
        "Telephony",
        "Hardware",
        "Desk phone",
        "Network",
        2,
        2,
        ("Desk phones in the Sydney office show 'No service'", "Cannot make outside calls"),
        "None of the desk phones in Sydney can make or receive outside calls.",
        ("SIP trunk registration failing; carrier reports an outage in their Sydney POP.",),
        "Outside calls are failing in the Sydney office because of a carrier outage. Please "
        "use mobiles or Teams calling meanwhile.",
        "third-party",
        "Carrier restored the SIP trunk; inbound and outbound calls tested.",
        sources=(Source.PHONE, Source.CHAT),
        hold="Waiting for the carrier to restore the trunk.",
    ),
    Scenario(
        "payroll-hours",
        "Payroll",
        "Application",
        "Data",
        "Applications",
        4,
        2,
        ("Overtime hours missing from my payslip", "Payslip shows the wrong tax code"),
        "My payslip this month does not include the 12 hours of overtime I did in week 3.",
        ("Timesheet was approved after the payroll cut-off.",),
        "Your overtime was approved after the cut-off; HR is arranging a correction payment.",
        "workaround",
        "Manual correction payment approved by HR and paid in the off-cycle run.",
        hold="Waiting for HR to confirm the correction.",
    ),
    Scenario(
        "firewall",
        "Data warehouse",
        "Network",
        "Firewall",
        "Network",
        3,
        3,
        ("Nightly sales report did not arrive", "Reporting server cannot reach the warehouse"),
        "The 07:00 sales report did not arrive today; the report server log says 'connection "
        "timed out'.",
        ("A temporary firewall rule with an end date expired last night.",),
        "Last night's report failed because of a network rule; we are restoring it and will "
        "re-run the report.",
        "configuration",
        "Made the firewall rule permanent after the security review; report re-run.",
    ),
    Scenario(
        "etl",
        "Data warehouse",
        "Application",
        "Data",
        "Platform",
        3,
        2,
        ("ETL job 'sales_daily' failed", "EtlJobFailed: sales_daily exited with code 1"),
        "Alert EtlJobFailed: sales_daily exited with code 1 (duplicate key on staging.orders).",
        ("Duplicate order rows in the upstream export from the shop system.",),
        "Today's sales figures are delayed while we repair a failed data load.",
        "fixed",
        "Removed duplicate rows from the upstream export; job re-run successfully.",
        sources=(Source.MONITORING,),
        monitoring=True,
    ),
    Scenario(
        "disk",
        "File storage",
        "Application",
        "Performance",
        "Platform",
        3,
        2,
        ("File server fs-02 volume D: at 95%", "DiskAlmostFull on fs-02"),
        "Alert DiskAlmostFull: fs-02 D: 95.3% used, growing 40 GB/day.",
        ("A render job writes 40 GB of temp files per day to the Projects share.",),
        "Saving to the Projects share may fail; we are freeing space.",
        "fixed",
        "Moved old project archives to cold storage (1.2 TB freed) and set a quota on the "
        "render temp folder.",
        sources=(Source.MONITORING,),
        monitoring=True,
    ),
    Scenario(
        "monitor",
        "End-user devices",
        "Hardware",
        "Monitor",
        "Service Desk",
        4,
        4,
        ("Second monitor flickers", "External monitor goes black every few minutes"),
        "My second monitor flickers and sometimes goes black for a second.",
        ("Swapped the monitor with a spare: same fault. Cable suspected.",),
        "We will swap the cable at your desk this afternoon.",
        "fixed",
        "Replaced the DisplayPort cable.",
    ),
    Scenario(
        "new-starter",
        "Single sign-on",
        "Access",
        "New account",
        "Service Desk",
        4,
        3,
        ("New starter's account disabled on first day", "New joiner cannot sign in"),
        "Our new colleague started today but her account says it is disabled.",
        ("Account created with a start date one week later than the contract.",),
        "The account is active now; she can sign in with the temporary password from her manager.",
        "configuration",
        "Corrected the start date in the HR feed; account enabled.",
        sources=(Source.PHONE, Source.PORTAL),
    ),
]

REPORTER_COMMENTS = (
    "Any update on this? It is blocking my work.",
    "Thanks, that worked for now.",
    "Happening again just now, in case it helps.",
    "I can be reached on my mobile this afternoon.",
)
ESCALATION_NOTES = (
    "Beyond first line: needs {team}.",
    "Checked the basics with the user; escalating to {team} for diagnosis.",
    "Affects more than one person; handing to {team}.",
)
REOPEN_NOTES = (
    "Sorry, it is happening again since this morning.",
    "Still not working for me.",
)
CONFIRM_NOTES = ("Works again, thanks!", "All good now, thank you.", "")
CLOSE_NOTES = ("No reply from the reporter; closing.", "Confirmed fixed by phone.")
RESUME_NOTES = ("Back from waiting; continuing.", "Got what we needed; resuming.")


# --- the result -------------------------------------------------------------------


@dataclass(frozen=True)
class DemoLogin:
    username: str
    name: str
    role: str
    team: str
    time_zone: str


@dataclass(frozen=True)
class DemoSummary:
    created: bool
    password: str
    logins: tuple[DemoLogin, ...]
    teams: int
    people: int
    services: int
    categories: int
    incidents: int
    seconds: float


def demo_logins() -> tuple[DemoLogin, ...]:
    teams = {username: name for name, _d, _m, members in TEAMS for username in members}
    return tuple(
        DemoLogin(username, name, Role(role).label, teams.get(username, ""), zone)
        for username, name, role, zone in PEOPLE
    )


def demo_loaded() -> bool:
    return Counter.objects.filter(name=DEMO_MARKER).exists()


# --- stories: one incident's planned history ----------------------------------------


@dataclass
class _Story:
    scenario: Scenario
    outcome: str
    reporter: User | None
    agent: User
    responder: User
    manager: User
    outsider: tuple[str, str] | None = None
    logged_by_agent: bool = False
    steps: list[tuple[float, Callable[[], object]]] = field(default_factory=list)
    pk: int | None = None
    t0: dt.datetime | None = None

    def incident(self) -> Incident:
        if self.pk is None:
            raise LookupError("this story has not filed its incident yet")
        return Incident.objects.get(pk=self.pk)

    def add(self, minutes: float, fn: Callable[..., object], *args: object, **kw: object) -> None:
        self.steps.append((minutes, functools.partial(fn, *args, **kw)))

    @property
    def last(self) -> float:
        return self.steps[-1][0] if self.steps else 0.0

    def offset_of(self, name: str) -> float | None:
        for minutes, fn in self.steps:
            if getattr(fn, "keywords", {}).get("step") == name:
                return minutes
        return None


class _Writer:
    """Turns scenarios into stories and runs them in global time order."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.users = {
            u.username: u for u in User.objects.filter(username__in=[p[0] for p in PEOPLE])
        }
        self.teams = {t.name: t for t in Team.objects.filter(name__in=[t[0] for t in TEAMS])}
        self.services = {s.name: s for s in Service.objects.all()}
        self.categories: dict[tuple[str, str], Category] = {}
        for cat in Category.objects.select_related("parent"):
            if cat.parent_id:
                self.categories[(cat.parent.name, cat.name)] = cat  # type: ignore[union-attr]
            else:
                self.categories[(cat.name, "")] = cat
        self.stories: list[_Story] = []
        self.auto_close_minutes = settings.TOCSIN_AUTO_CLOSE_DAYS * 24 * 60

    def people(self, role: str) -> list[User]:
        return [self.users[p[0]] for p in PEOPLE if p[2] == role]

    def team_responders(self, team: str) -> list[User]:
        members = next(m for name, _d, _mgr, m in TEAMS if name == team)
        return [self.users[u] for u in members if self.users[u].role == Role.RESPONDER] or [
            self.users[next(mgr for name, _d, mgr, _m in TEAMS if name == team)]
        ]

    def team_manager(self, team: str) -> User:
        return self.users[next(mgr for name, _d, mgr, _m in TEAMS if name == team)]

    def plan(self, scenario: Scenario, outcome: str) -> _Story:
        rng = self.rng
        reporter: User | None = rng.choice(self.people(Role.REPORTER))
        outsider = None
        if scenario.outsider:
            outsider = rng.choice(OUTSIDERS)
            reporter = None
        elif scenario.monitoring:
            reporter = None
        elif rng.random() < 0.15:
            reporter = rng.choice(self.people(Role.MANAGER) + self.people(Role.RESPONDER))
        team = scenario.team
        responder = (
            rng.choice(self.people(Role.AGENT))
            if team == "Service Desk"
            else rng.choice(self.team_responders(team))
        )
        story = _Story(
            scenario=scenario,
            outcome=outcome,
            reporter=reporter,
            agent=rng.choice(self.people(Role.AGENT)),
            responder=responder,
            manager=self.team_manager(team),
            outsider=outsider,
            logged_by_agent=outsider is not None
            or (reporter is not None and outcome != "new" and rng.random() < 0.35),
        )
        self._write_steps(story)
        self.stories.append(story)
        return story

    def _write_steps(self, s: _Story) -> None:
        rng = self.rng
        sc = s.scenario
        target = sla.target_for(sc.priority)
        resp = target.response_seconds / 60
        res = target.resolution_seconds / 60
        t = 0.0

        def later(lo: float, hi: float) -> float:
            nonlocal t
            t += rng.uniform(lo, hi)
            return t

        s.add(t, self.step_create, s, step="create")
        solver = s.agent if sc.team == "Service Desk" else s.responder
        if sc.monitoring:
            solver = s.responder
        if (
            not sc.monitoring
            and not s.logged_by_agent
            and (s.outcome != "new" or rng.random() < 0.5)
        ):
            # A portal report: first line triages it after a while.
            s.add(later(2, max(3, 0.3 * resp)), self.step_triage, s, step="triage")
        if s.outcome == "new":
            if s.reporter is not None and rng.random() < 0.4:
                s.add(later(20, 90), self.step_comment, s, rng.choice(REPORTER_COMMENTS[:1]))
            return
        late_ack = rng.random() < 0.12
        ack_at = rng.uniform(1.2, 2.5) * resp if late_ack else rng.uniform(0.1, 0.8) * resp
        if sc.monitoring:
            s.add(later(1, 3), self.step_assign, s, s.manager, s.responder, None)
        else:
            s.add(later(1, 4), self.step_assign, s, s.agent, s.agent, "Service Desk")
        t = max(t + 1, ack_at)
        first = s.responder if sc.monitoring else s.agent
        s.add(t, self.step_act, s, first, services.incident_acknowledge, step="acknowledge")
        if s.outcome == "acknowledged":
            if rng.random() < 0.5:
                s.add(later(5, 40), self.step_note, s, first, sc.notes[0], Visibility.INTERNAL)
            return
        s.add(later(2, 30), self.step_act, s, first, services.incident_start)
        s.add(
            later(5, max(6, 0.05 * res)), self.step_note, s, first, sc.notes[0], Visibility.INTERNAL
        )
        if sc.team != "Service Desk" and not sc.monitoring:
            note = rng.choice(ESCALATION_NOTES).format(team=sc.team)
            s.add(later(5, 45), self.step_escalate, s, s.agent, sc.team, note)
            s.add(later(3, 30), self.step_assign, s, s.manager, s.responder, None)
            s.add(later(3, 20), self.step_act_quiet, s, s.responder)
        if sc.priority <= 2 or rng.random() < 0.4:
            s.add(
                later(10, max(11, 0.1 * res)),
                self.step_note,
                s,
                s.manager if sc.priority == 1 else solver,
                sc.public_update,
                Visibility.PUBLIC,
            )
        if len(sc.notes) > 1:
            s.add(
                later(10, max(11, 0.1 * res)),
                self.step_note,
                s,
                solver,
                sc.notes[1],
                Visibility.INTERNAL,
            )
        held = 0.0
        if sc.hold and (s.outcome == "on_hold" or rng.random() < 0.5):
            s.add(later(5, 60), self.step_act, s, solver, services.incident_hold, note=sc.hold)
            s.add(
                later(1, 5),
                self.step_note,
                s,
                solver,
                f"On hold for now. {sc.hold}",
                Visibility.PUBLIC,
            )
            if s.outcome == "on_hold":
                return
            start = t
            s.add(
                later(6 * 60, 3 * 24 * 60),
                self.step_act,
                s,
                solver,
                services.incident_resume,
                note=rng.choice(RESUME_NOTES),
            )
            held = t - start
        if s.outcome == "in_progress":
            if s.reporter is not None and rng.random() < 0.3:
                s.add(later(30, 180), self.step_comment, s, rng.choice(REPORTER_COMMENTS))
            return
        breach = rng.random() < 0.12
        resolve_at = (rng.uniform(1.1, 1.8) if breach else rng.uniform(0.15, 0.85)) * res + held
        t = max(t + rng.uniform(10, 60), resolve_at)
        s.add(t, self.step_resolve, s, solver, step="resolve")
        if s.outcome == "resolved":
            return
        resolved = t
        closing = rng.random()
        if s.outcome == "closed-reopened":
            s.add(later(4 * 60, 2 * 24 * 60), self.step_confirm, s, False, rng.choice(REOPEN_NOTES))
            s.add(
                later(20, 120),
                self.step_note,
                s,
                solver,
                "Reproduced again; the first fix did not hold.",
                Visibility.INTERNAL,
            )
            s.add(later(60, 24 * 60), self.step_resolve, s, solver)
            s.add(later(60, 24 * 60), self.step_confirm, s, True, "Fixed for good now, thanks.")
        elif s.reporter is not None and closing < 0.45:
            s.add(later(20, 2 * 24 * 60), self.step_confirm, s, True, rng.choice(CONFIRM_NOTES))
        elif closing < 0.7:
            s.add(
                later(60, 2 * 24 * 60),
                self.step_act,
                s,
                s.agent,
                services.incident_close,
                note=rng.choice(CLOSE_NOTES),
            )
        else:
            s.add(resolved + self.auto_close_minutes + rng.uniform(1, 50), self.step_auto_close, s)

    # -- the steps themselves --

    def step_create(self, s: _Story, *, step: str = "") -> None:
        sc = s.scenario
        rng = self.rng
        title = rng.choice(sc.titles)
        category = self.categories[(sc.category, "")]
        sub = self.categories[(sc.category, sc.subcategory)]
        service = self.services[sc.service]
        affected = [self.services[name] for name in sc.affected]
        at = now()
        if sc.monitoring:
            incident = services.incident_create(
                actor=Actor.integration("Alertmanager"),
                title=title,
                description=sc.description,
                impact=sc.impact,
                urgency=sc.urgency,
                source=Source.MONITORING,
                reporter_name="Alertmanager",
                service=service,
                affected_services=affected,
                category=category,
                subcategory=sub,
                team=self.teams[sc.team],
                support_level=2,
                detected_at=at - dt.timedelta(minutes=2),
                impact_started_at=at - dt.timedelta(minutes=rng.randint(3, 9)),
            )
        elif s.logged_by_agent:
            # Phoned or mailed in: the agent logs it with the details right away.
            name, email = s.outsider or ("", "")
            incident = services.incident_create(
                actor=Actor.for_user(s.agent),
                title=title,
                description=sc.description,
                impact=sc.impact,
                urgency=sc.urgency,
                source=rng.choice(
                    [src for src in sc.sources if src not in (Source.MONITORING, Source.PORTAL)]
                    or [Source.PHONE]
                ),
                reporter=s.reporter,
                reporter_name=name,
                reporter_email=email,
                service=service,
                affected_services=affected,
                category=category,
                subcategory=sub,
            )
        else:
            if s.reporter is None:
                raise RuntimeError(f"demo story {sc.key}: a reported incident needs a reporter")
            guess = rng.choice([(3, 3), (3, 3), (2, 2), (sc.impact, sc.urgency)])
            incident = services.incident_create(
                actor=Actor.for_user(s.reporter),
                title=title,
                description=sc.description,
                impact=guess[0],
                urgency=guess[1],
                source=Source.PORTAL,
                service=service if rng.random() < 0.5 else None,
            )
        s.pk = incident.pk

    def step_triage(self, s: _Story, *, step: str = "") -> None:
        sc = s.scenario
        changes: dict[str, object] = {
            "category": self.categories[(sc.category, "")],
            "subcategory": self.categories[(sc.category, sc.subcategory)],
            "service": self.services[sc.service],
            "impact": sc.impact,
            "urgency": sc.urgency,
        }
        if sc.affected:
            changes["affected_services"] = [self.services[name] for name in sc.affected]
        reason = ""
        if sc.priority >= 3 and self.rng.random() < 0.08:
            changes["priority"] = sc.priority - 1
            reason = "Reporter presents to a customer this afternoon; needs it before then."
        services.incident_update(
            incident=s.incident(),
            actor=Actor.for_user(s.agent),
            changes=changes,
            priority_reason=reason,
        )

    def step_assign(self, s: _Story, who: User, assignee: User, team: str | None) -> None:
        services.incident_assign(
            incident=s.incident(),
            actor=Actor.for_user(who),
            assignee=assignee,
            team=self.teams[team] if team else None,
            set_team=team is not None,
        )

    def step_act(
        self, s: _Story, who: User, act: Callable[..., object], note: str = "", *, step: str = ""
    ) -> None:
        """`act` is a lifecycle service, e.g. services.incident_acknowledge."""
        act(incident=s.incident(), actor=Actor.for_user(who), note=note)

    def step_act_quiet(self, s: _Story, who: User) -> None:
        services.incident_add_note(
            incident=s.incident(),
            actor=Actor.for_user(who),
            text="Picked up; looking at it now.",
            visibility=Visibility.INTERNAL,
        )

    def step_note(self, s: _Story, who: User, text: str, visibility: str) -> None:
        services.incident_add_note(
            incident=s.incident(), actor=Actor.for_user(who), text=text, visibility=visibility
        )

    def step_comment(self, s: _Story, text: str) -> None:
        if s.reporter is not None:
            services.incident_add_note(
                incident=s.incident(), actor=Actor.for_user(s.reporter), text=text
            )

    def step_escalate(self, s: _Story, who: User, team: str, note: str) -> None:
        services.incident_escalate(
            incident=s.incident(),
            actor=Actor.for_user(who),
            support_level=2,
            team=self.teams[team],
            note=note,
        )

    def step_resolve(self, s: _Story, who: User, *, step: str = "") -> None:
        sc = s.scenario
        services.incident_resolve(
            incident=s.incident(),
            actor=Actor.for_user(who),
            resolution_code=sc.resolution_code,
            resolution_notes=sc.resolution_notes,
        )

    def step_confirm(self, s: _Story, accept: bool, note: str) -> None:
        if s.reporter is None:
            return
        services.incident_confirm(
            incident=s.incident(), actor=Actor.for_user(s.reporter), accept=accept, note=note
        )

    def step_auto_close(self, s: _Story) -> None:
        services.incident_auto_close(incident=s.incident())

    def step_merge(self, s: _Story, into: _Story, who: User) -> None:
        services.incident_merge(
            incident=s.incident(),
            into=into.incident(),
            actor=Actor.for_user(who),
            note=f"Same problem as {into.incident().ref}; follow the updates there.",
        )

    # -- placing stories on the calendar and running them --

    def place(self, s: _Story, end: dt.datetime) -> None:
        rng = self.rng
        span = dt.timedelta(minutes=s.last)
        minute = dt.timedelta(minutes=1)
        if s.outcome in ("closed", "closed-reopened"):
            earliest = end - dt.timedelta(days=HISTORY_DAYS - 1)
            latest = end - span - 30 * minute
            s.t0 = earliest + (latest - earliest) * rng.random()
        elif s.outcome == "resolved":
            window = self.auto_close_minutes - 6 * 60
            resolve = s.offset_of("resolve") or s.last
            s.t0 = end - dt.timedelta(minutes=resolve) - minute * rng.uniform(60, window)
        else:
            gap = {
                "new": (10, 6 * 60),
                "acknowledged": (20, 20 * 60),
                "in_progress": (15, 2 * 24 * 60),
                "on_hold": (60, 4 * 24 * 60),
            }[s.outcome]
            s.t0 = end - span - minute * rng.uniform(*gap)

    def run(self, end: dt.datetime) -> None:
        events: list[tuple[dt.datetime, int, Callable[[], object]]] = []
        seq = 0
        for story in self.stories:
            if story.t0 is None:
                raise RuntimeError(f"demo story {story.scenario.key} was never placed in time")
            for minutes, fn in story.steps:
                at = story.t0 + dt.timedelta(minutes=minutes)
                if at >= end:
                    raise AssertionError(f"demo story {story.scenario.key} runs into the future")
                events.append((at, seq, fn))
                seq += 1
        events.sort(key=lambda e: (e[0], e[1]))
        for at, _seq, fn in events:
            _mark_breaches_until(at)
            with travel(at):
                fn()
        _mark_breaches_until(end)


def _mark_breaches_until(end: dt.datetime) -> None:
    """Record SLA breaches as a worker would have, about a minute after each due time."""
    running = Q(status__in=sla.RUNNING_STATUSES)
    while True:
        due = Incident.objects.filter(running).aggregate(
            response=Min(
                "response_due_at",
                filter=Q(response_met_at__isnull=True, response_breached_at__isnull=True),
            ),
            resolution=Min(
                "resolution_due_at",
                filter=Q(resolution_met_at__isnull=True, resolution_breached_at__isnull=True),
            ),
        )
        earliest = min((d for d in due.values() if d is not None), default=None)
        if earliest is None or earliest >= end:
            return
        at = min(earliest + dt.timedelta(seconds=61), end)
        with travel(at):
            services.incident_mark_breaches(at=at)


# --- the plan ---------------------------------------------------------------------

# How many incidents end in each state today.
OUTCOMES: list[tuple[str, int]] = [
    ("closed", 47),
    ("closed-reopened", 1),
    ("resolved", 6),
    ("on_hold", 3),
    ("in_progress", 6),
    ("acknowledged", 4),
    ("new", 5),
]
PRIORITY_WEIGHT = {1: 1.0, 2: 2.0, 3: 4.0, 4: 3.0}


def _choose(rng: random.Random, pool: list[Scenario]) -> Scenario:
    return rng.choices(pool, weights=[PRIORITY_WEIGHT[sc.priority] for sc in pool])[0]


def _build_organisation() -> None:
    encoded = make_password(DEMO_PASSWORD)  # hashed once: Argon2 is slow on purpose
    users: dict[str, User] = {}
    for username, name, role, zone in PEOPLE:
        user = user_create(
            username=username,
            email=f"{username}@example.com",
            name=name,
            role=role,
            time_zone=zone,
            actor=DEMO_ACTOR,
        )
        user.password = encoded
        user.save(update_fields=["password"])
        users[username] = user
    teams: dict[str, Team] = {}
    for name, description, manager, members in TEAMS:
        teams[name] = team_create(
            name=name,
            description=description,
            manager=users[manager],
            members=[users[m] for m in members],
            actor=DEMO_ACTOR,
        )
    for name, description, team in SERVICES:
        if not Service.objects.filter(name__iexact=name).exists():
            service_create(name=name, description=description, team=teams[team], actor=DEMO_ACTOR)
    for parent_name, children in TAXONOMY.items():
        parent = Category.objects.filter(name__iexact=parent_name, parent=None).first()
        if parent is None:
            parent = category_create(name=parent_name, actor=DEMO_ACTOR)
        for child in children:
            if not Category.objects.filter(name__iexact=child, parent=parent).exists():
                category_create(name=child, parent=parent, actor=DEMO_ACTOR)


def _write_history(seed: int, end: dt.datetime) -> None:
    rng = random.Random(seed)
    writer = _Writer(rng)
    holdable = [sc for sc in SCENARIOS if sc.hold]
    quiet = [sc for sc in SCENARIOS if sc.priority >= 2 and not sc.monitoring]
    closed: list[_Story] = []
    # Every priority appears among the closed ones, then the rest at random.
    for sc in sorted({sc.priority: sc for sc in SCENARIOS}.values(), key=lambda s: s.priority):
        closed.append(writer.plan(sc, "closed"))
    for outcome, count in OUTCOMES:
        for _ in range(count - (4 if outcome == "closed" else 0)):
            if outcome == "on_hold":
                pool = holdable
            elif outcome in ("new", "acknowledged"):
                pool = quiet
            else:
                pool = SCENARIOS
            story = writer.plan(_choose(rng, pool), outcome)
            if outcome == "closed":
                closed.append(story)
    for story in writer.stories:
        writer.place(story, end)
    # Two duplicates, reported while their original was still open, then merged into it.
    originals = [
        s
        for s in closed
        if s.outcome == "closed" and (s.offset_of("resolve") or 0) > 180 and s.reporter
    ][:2]
    for original in originals:
        if original.t0 is None:
            raise RuntimeError(f"demo story {original.scenario.key} was never placed in time")
        dup = _Story(
            scenario=original.scenario,
            outcome="duplicate",
            reporter=rng.choice(
                [u for u in writer.people(Role.REPORTER) if u != original.reporter]
            ),
            agent=original.agent,
            responder=original.responder,
            manager=original.manager,
            t0=original.t0 + dt.timedelta(minutes=rng.uniform(15, 60)),
        )
        dup.add(0, writer.step_create, dup)
        dup.add(rng.uniform(10, 45), writer.step_merge, dup, original, writer.users["maya"])
        writer.stories.append(dup)
        # Still "resolved" as a duplicate after the merge; the system closes it later.
        dup.add(
            dup.last + writer.auto_close_minutes + rng.uniform(1, 30), writer.step_auto_close, dup
        )
    writer.run(end)


def load_demo(*, seed: int = 7) -> DemoSummary:
    """Create the demo organisation once; a second call finds it and changes nothing."""
    started = time.monotonic()
    end = now()
    with transaction.atomic():
        created = not demo_loaded()
        if created:
            clash = User.objects.filter(username__in=[p[0] for p in PEOPLE]).first()
            if clash is not None:
                raise Conflict(
                    f"cannot load the demo organisation: a person named {clash.username!r} "
                    "already exists (the demo is meant for an empty installation)"
                )
            team_clash = Team.objects.filter(name__in=[t[0] for t in TEAMS]).first()
            if team_clash is not None:
                raise Conflict(
                    f"cannot load the demo organisation: a team named {team_clash.name!r} "
                    "already exists (the demo is meant for an empty installation)"
                )
            _build_organisation()
            _write_history(seed, end)
            write_alerts(end)
            write_schedules(end)
            # The history's resolution mails belong to the past: nobody is waiting for them
            # (and the demo's addresses are not real), so they are not queued for sending.
            OutboxMessage.objects.filter(created_at__lte=end).delete()
            write_paging(end)  # after: its past deliveries are recorded, its live page waits
            write_escalation()  # hand-off templates and the executive list (issue 11)
            write_updates(end)
            write_webhooks()  # after the history: no past event is queued to them
            write_statuspage(end)
            write_major(end)  # after the policies and schedules it names
            write_response()  # roles and war room on the newest open P1/P2 incident
            # learning (issue 12), after the history it learns from
            write_articles(end)
            write_problems(end)
            write_runbooks(end)
            write_action_items(end)  # after the postmortems: their items attach to them
            write_oncall_load(end)  # on-call load report (issue 13): a month of pages
            write_noise(end)  # issue 13: noisy alerts and page feedback, after the policies
            rebuild_report_facts()  # last: the dashboards show the demo at once (issue 13)
            Counter.next_value(DEMO_MARKER)
    return DemoSummary(
        created=created,
        password=DEMO_PASSWORD,
        logins=demo_logins(),
        teams=Team.objects.count(),
        people=User.objects.count(),
        services=Service.objects.count(),
        categories=Category.objects.count(),
        incidents=Incident.objects.count(),
        seconds=time.monotonic() - started,
    )


__all__ = ["DEMO_PASSWORD", "DemoLogin", "DemoSummary", "demo_loaded", "load_demo"]
