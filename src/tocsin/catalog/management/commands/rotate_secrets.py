"""`tocsin manage rotate_secrets`: re-encrypt stored secrets under the current key."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from tocsin.catalog.hooks import secret_rotators
from tocsin.catalog.services import integration_secrets_rotate


class Command(BaseCommand):
    help = (
        "Re-encrypt stored integration secrets under TOCSIN_SECRET_KEY "
        "(old keys in TOCSIN_SECRET_KEY_FALLBACKS)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        rewritten, unreadable = integration_secrets_rotate()
        for rotate in secret_rotators():  # other apps' stored secrets (automation webhooks)
            more, bad = rotate()
            rewritten, unreadable = rewritten + more, unreadable + bad
        self.stdout.write(f"{rewritten} stored secrets re-encrypted under the current key")
        if unreadable:
            raise CommandError(
                f"{unreadable} stored secrets open with none of the configured keys: "
                "add the old key to TOCSIN_SECRET_KEY_FALLBACKS and run this again"
            )
