"""Where each kind of integration sends events, and ready-to-paste configuration for the
sending tool. Every URL is absolute, built on TOCSIN_BASE_URL (settings.BASE_URL).

Snippets are plain text (the templates escape them); they carry the real key only when
it is known, i.e. right after creating or rotating an integration.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from tocsin.catalog.models import Integration, IntegrationKind

KEY_PLACEHOLDER = "<key>"
SIGNATURE_HEADER = "X-Grafana-Alerting-Signature"

PATHS = {
    IntegrationKind.PAGERDUTY: "/v2/enqueue",
    IntegrationKind.OPSGENIE: "/opsgenie/v2/alerts",
    IntegrationKind.ALERTMANAGER: "/integrations/alertmanager/{key}",
    IntegrationKind.GRAFANA: "/integrations/grafana/{key}",
    IntegrationKind.WEBHOOK: "/integrations/webhook/{key}",
    IntegrationKind.HEARTBEAT: "/integrations/heartbeat/{key}",
}


@dataclass(frozen=True)
class Snippet:
    title: str
    language: str  # yaml | shell | text | json
    text: str
    note: str = ""

    def to_json(self) -> dict[str, str]:
        return {
            "title": self.title,
            "language": self.language,
            "text": self.text,
            "note": self.note,
        }


def base_url() -> str:
    return str(settings.BASE_URL).rstrip("/")


def email_domain() -> str:
    """TOCSIN_EMAIL_DOMAIN when set, else the host of TOCSIN_BASE_URL."""
    domain = str(getattr(settings, "TOCSIN_EMAIL_DOMAIN", "") or "").strip()
    return domain or (urlsplit(base_url()).hostname or "localhost")


def integration_url(kind: str, key: str = KEY_PLACEHOLDER) -> str:
    """Where a sender of this kind posts (the email kind: the address to write to)."""
    if kind == IntegrationKind.EMAIL:
        return f"{key}@{email_domain()}"
    return base_url() + PATHS[IntegrationKind(kind)].format(key=key)


def _quote(text: str) -> str:
    """Single-quote for a POSIX shell."""
    return "'" + text.replace("'", "'\"'\"'") + "'"


def _curl_json(url: str, body: dict[str, Any], headers: tuple[str, ...] = ()) -> str:
    where = _quote(url) if "?" in url else url
    lines = [f"curl -fsS -X POST {where}", "  -H 'Content-Type: application/json'"]
    lines += [f"  -H {_quote(h)}" for h in headers]
    lines.append(f"  -d {_quote(json.dumps(body, indent=2))}")
    return " \\\n".join(lines)


def _pagerduty(url: str, key: str) -> list[Snippet]:
    trigger = {
        "routing_key": key,
        "event_action": "trigger",
        "dedup_key": "disk-full-db1",
        "payload": {"summary": "Disk full on db1", "source": "db1", "severity": "critical"},
    }
    resolve = {"routing_key": key, "event_action": "resolve", "dedup_key": "disk-full-db1"}
    return [
        Snippet(
            "Alertmanager (pagerduty_configs)",
            "yaml",
            "receivers:\n"
            "  - name: tocsin\n"
            "    pagerduty_configs:\n"
            f"      - routing_key: {key}\n"
            f"        url: {url}\n"
            "        send_resolved: true\n",
            "Use routing_key (Events API v2), not service_key: Alertmanager sends v1 "
            "events to PagerDuty itself and ignores url.",
        ),
        Snippet(
            "Grafana (PagerDuty contact point, provisioning file)",
            "yaml",
            "apiVersion: 1\n"
            "contactPoints:\n"
            "  - orgId: 1\n"
            "    name: Tocsin\n"
            "    receivers:\n"
            "      - uid: tocsin-pagerduty\n"
            "        type: pagerduty\n"
            "        settings:\n"
            f"          integrationKey: {key}\n"
            f"          url: {url}\n",
            "In the Grafana UI: Integration “PagerDuty”, the key as Integration Key, and "
            "this URL under Optional PagerDuty settings → API URL.",
        ),
        Snippet("Trigger an alert with curl", "shell", _curl_json(url, trigger)),
        Snippet("Resolve it with curl", "shell", _curl_json(url, resolve)),
    ]


def _opsgenie(url: str, key: str) -> list[Snippet]:
    api_url = base_url() + "/opsgenie/"
    create = {"message": "Disk full on db1", "alias": "disk-full-db1", "priority": "P1"}
    return [
        Snippet(
            "Alertmanager (opsgenie_configs)",
            "yaml",
            "receivers:\n"
            "  - name: tocsin\n"
            "    opsgenie_configs:\n"
            f"      - api_key: {key}\n"
            f"        api_url: {api_url}\n"
            "        send_resolved: true\n",
            "api_url ends with a slash: Alertmanager appends v2/alerts to it.",
        ),
        Snippet(
            "Create an alert with curl",
            "shell",
            _curl_json(url, create, (f"Authorization: GenieKey {key}",)),
        ),
        Snippet(
            "Close it with curl",
            "shell",
            _curl_json(
                f"{url}/disk-full-db1/close?identifierType=alias",
                {"source": "curl"},
                (f"Authorization: GenieKey {key}",),
            ),
        ),
    ]


def _bearer_lines(options: dict[str, Any], indent: str) -> str:
    if options.get("auth") != "bearer":
        return ""
    return (
        f"{indent}http_config:\n"
        f"{indent}  authorization:\n"
        f"{indent}    type: Bearer\n"
        f"{indent}    credentials: <the bearer token you set>\n"
    )


def _alertmanager(url: str, key: str, options: dict[str, Any]) -> list[Snippet]:
    return [
        Snippet(
            "Alertmanager (webhook_configs)",
            "yaml",
            "route:\n"
            "  receiver: tocsin\n"
            "receivers:\n"
            "  - name: tocsin\n"
            "    webhook_configs:\n"
            f"      - url: {url}\n"
            "        send_resolved: true\n" + _bearer_lines(options, "        "),
            "Each group Alertmanager sends is one snapshot; re-sends are absorbed.",
        ),
    ]


def _grafana(url: str, key: str, options: dict[str, Any]) -> list[Snippet]:
    settings_lines = f"          url: {url}\n          httpMethod: POST\n"
    note = "In the Grafana UI: Alerting → Contact points → Add → Integration “Webhook”, this URL."
    if options.get("auth") == "hmac":
        settings_lines += (
            "          hmacConfig:\n"
            "            secret: <the HMAC secret you set>\n"
            f"            header: {SIGNATURE_HEADER}\n"
        )
        if options.get("hmac_timestamp_header"):
            settings_lines += f"            timestampHeader: {options['hmac_timestamp_header']}\n"
        note += " Under Optional Webhook settings, set the same HMAC secret."
    return [
        Snippet(
            "Grafana contact point (provisioning file)",
            "yaml",
            "apiVersion: 1\n"
            "contactPoints:\n"
            "  - orgId: 1\n"
            "    name: Tocsin\n"
            "    receivers:\n"
            "      - uid: tocsin\n"
            "        type: webhook\n"
            "        settings:\n" + settings_lines,
            note,
        ),
        Snippet("Webhook URL", "text", url),
    ]


def _example_body(options: dict[str, Any]) -> dict[str, Any]:
    """A JSON body that the webhook's field mapping reads as a firing alert."""
    body: dict[str, Any] = {}
    values = {
        "summary_path": "Disk full on db1",
        "severity_path": "critical",
        "dedup_key_path": "disk-full-db1",
        "status_path": "firing",
    }
    for name, value in values.items():
        path = str(options.get(name) or "").removeprefix("$").removeprefix(".")
        segments = path.split(".")
        if not path or "[" in path or any(s.isdigit() for s in segments):
            continue  # list indexes: the example leaves them out rather than guess
        node: Any = body
        for segment in segments[:-1]:
            node = node.setdefault(segment, {})
            if not isinstance(node, dict):
                break
        else:
            node.setdefault(segments[-1], value)
    return body


def _webhook(url: str, key: str, options: dict[str, Any]) -> list[Snippet]:
    body = _example_body(options)
    headers = ("Authorization: Bearer <the bearer token you set>",) if options.get("auth") else ()
    resolved = json.loads(json.dumps(body))
    status_path = str(options.get("status_path") or "").removeprefix("$").removeprefix(".")
    node: Any = resolved
    segments = status_path.split(".") if status_path else []
    for segment in segments[:-1]:
        node = node.get(segment) if isinstance(node, dict) else None
    if segments and isinstance(node, dict) and segments[-1] in node:
        node[segments[-1]] = options.get("resolved_value", "resolved")
    mapping = "\n".join(
        f"{name.removesuffix('_path')}: {options.get(name) or '(not mapped)'}"
        for name in ("summary_path", "severity_path", "dedup_key_path", "status_path")
    )
    mapping += f"\nresolved when status is: {options.get('resolved_value', 'resolved')}"
    snippets = [
        Snippet("Send an alert with curl", "shell", _curl_json(url, body, headers)),
    ]
    if resolved != body:
        snippets.append(
            Snippet("Resolve it with curl", "shell", _curl_json(url, resolved, headers))
        )
    snippets.append(
        Snippet(
            "Field mapping",
            "text",
            mapping,
            "Paths are keys separated by dots (alert.title); digits index lists (alerts.0.name).",
        )
    )
    return snippets


def _heartbeat(url: str, key: str, options: dict[str, Any]) -> list[Snippet]:
    interval = int(options.get("interval_seconds") or 300)
    minutes = max(1, interval // 60)
    if interval < 60:
        schedule = "* * * * *"
    elif minutes < 60:
        schedule = f"*/{minutes} * * * *" if minutes > 1 else "* * * * *"
    elif minutes % 60 == 0 and minutes // 60 < 24:
        schedule = f"0 */{minutes // 60} * * *"
    else:
        schedule = "0 0 * * *"
    grace = int(options.get("grace_seconds", 60))
    return [
        Snippet(
            "Cron line",
            "shell",
            f"{schedule} your-job && curl -fsS --retry 3 {url} >/dev/null",
            f"Ping at least every {interval} s; after {interval} s plus {grace} s of grace "
            "with no ping, Tocsin opens an incident (counted from now until the first ping).",
        ),
        Snippet("Ping with curl", "shell", f"curl -fsS --retry 3 {url}"),
    ]


def _email(address: str) -> list[Snippet]:
    return [
        Snippet("Address", "text", address),
        Snippet(
            "Send a test mail",
            "shell",
            "printf 'Subject: Disk full on db1\\n\\nThe disk of db1 is full.\\n' "
            f"| sendmail {address}",
            "The subject becomes the incident's title and the text body its description.",
        ),
    ]


def snippets_for(kind: str, key: str, options: dict[str, Any] | None = None) -> list[Snippet]:
    """Copy-paste configuration for the sending tool, with the real key and URL."""
    options = options or {}
    url = integration_url(kind, key)
    if kind == IntegrationKind.PAGERDUTY:
        return _pagerduty(url, key)
    if kind == IntegrationKind.OPSGENIE:
        return _opsgenie(url, key)
    if kind == IntegrationKind.ALERTMANAGER:
        return _alertmanager(url, key, options)
    if kind == IntegrationKind.GRAFANA:
        return _grafana(url, key, options)
    if kind == IntegrationKind.WEBHOOK:
        return _webhook(url, key, options)
    if kind == IntegrationKind.HEARTBEAT:
        return _heartbeat(url, key, options)
    return _email(url)


def integration_snippets(integration: Integration, key: str) -> list[Snippet]:
    return snippets_for(integration.kind, key, integration.options)
