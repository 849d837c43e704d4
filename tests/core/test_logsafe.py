"""Integration keys never reach the logs in full (reliability spec §2, item 7)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

from tocsin.core.logsafe import RedactKeysFilter, redact

KEY = "8su0nsy2fwe1q5dowcimlq2v0pv0tmz4"


def test_keys_in_ingest_paths_are_cut_to_their_prefix() -> None:
    assert redact(f"Not Found: /integrations/alertmanager/{KEY}") == (
        "Not Found: /integrations/alertmanager/8su0ns…"
    )
    assert redact("GET /api/v1/incidents/INC-4 HTTP/1.1") == "GET /api/v1/incidents/INC-4 HTTP/1.1"


def test_the_filter_rewrites_django_request_records() -> None:
    record = logging.LogRecord(
        "django.request",
        logging.WARNING,
        __file__,
        1,
        "Not Found: %s",
        (f"/integrations/grafana/{KEY}",),
        None,
    )
    assert RedactKeysFilter().filter(record)
    assert KEY not in record.getMessage()
    assert "/integrations/grafana/8su0ns…" in record.getMessage()


def test_the_configured_handler_redacts(tmp_path) -> None:
    """Through Django's real logging configuration, as `tocsin web` logs."""
    code = (
        "import django, logging; django.setup(); "
        "logging.getLogger('django.request')"
        f".warning('Not Found: %s', '/integrations/webhook/{KEY}')"
    )
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update({"DJANGO_SETTINGS_MODULE": "tocsin.settings", "TOCSIN_DATA_DIR": str(tmp_path)})
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert "/integrations/webhook/8su0ns…" in result.stderr
    assert KEY not in result.stderr
