"""Create the benchmark's services and integration keys in Tocsin's database; print them.

Run with Tocsin's environment (TOCSIN_DATA_DIR, DATABASE_URL) after `tocsin migrate`:

    python bench/ingest/tocsin_keys.py --services 20 --per-kind 200 > keys.json

Prints {"pagerduty": [key, ...], "alertmanager": [key, ...]}. Keys come from the real
`integration_create`, so they are stored hashed exactly as a user's would be.
"""

from __future__ import annotations

import argparse
import json
import os
import sys


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=20)
    parser.add_argument("--per-kind", type=int, default=200)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tocsin.settings")
    import django

    django.setup()
    from tocsin.catalog.services import integration_create, service_create
    from tocsin.core.actors import Actor

    services = [
        service_create(name=f"bench-{n:02d}", actor=Actor.system("bench setup"))
        for n in range(args.services)
    ]
    keys: dict[str, list[str]] = {"pagerduty": [], "alertmanager": []}
    for kind, found in keys.items():
        for n in range(args.per_kind):
            service = services[n % len(services)]
            _integration, key = integration_create(
                service=service,
                kind=kind,
                name=f"bench {kind} {n}",
                actor=Actor.system("bench setup"),
            )
            found.append(key)
    json.dump(keys, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
