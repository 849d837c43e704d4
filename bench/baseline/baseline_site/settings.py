"""Settings of the baseline project: Tocsin's database settings, nothing else.

The database comes from BENCH_DATABASE_URL (PostgreSQL) or BENCH_SQLITE_PATH (SQLite with
the same pragmas, transaction mode and timeout as Tocsin's settings). No middleware: the
two endpoints measure what Django and the database cost on their own.
"""

from __future__ import annotations

import os

import dj_database_url

SECRET_KEY = "bench-baseline-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = ["baseline_site"]
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "baseline_site.urls"
WSGI_APPLICATION = "baseline_site.wsgi.application"
USE_TZ = True
TIME_ZONE = "UTC"
USE_I18N = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

_url = os.environ.get("BENCH_DATABASE_URL", "")
if _url:
    DATABASES = {"default": dj_database_url.parse(_url, conn_max_age=60)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("BENCH_SQLITE_PATH", "baseline.sqlite3"),
            "CONN_MAX_AGE": 60,  # as Tocsin (src/tocsin/settings.py): connections reused
            "OPTIONS": {
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
                ),
                "transaction_mode": "IMMEDIATE",
                "timeout": 5,
            },
        }
    }
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True  # as Tocsin
