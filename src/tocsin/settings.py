"""Django settings for Tocsin. Production differs from development only by environment."""

from __future__ import annotations

from pathlib import Path

import dj_database_url

from tocsin.core import prometheus_env  # helper prom: /metrics
from tocsin.core.env import (
    ConfigError,
    data_dir,
    env_bool,
    env_int,
    env_list,
    env_str,
    secret_key,
)

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = data_dir()

DEBUG = env_bool("TOCSIN_DEBUG", False)
SECRET_KEY = secret_key(DATA_DIR)
# Old keys, newest first, while rotating TOCSIN_SECRET_KEY: signatures and stored secrets
# made with them stay valid (see docs/production.md, "Rotating the secret key").
SECRET_KEY_FALLBACKS = env_list("TOCSIN_SECRET_KEY_FALLBACKS", [])
BASE_URL = env_str("TOCSIN_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
ALLOWED_HOSTS = env_list("TOCSIN_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
# Reverse proxies whose X-Forwarded-For names the client (sign-in throttling, audit log).
TRUSTED_PROXIES = env_list("TOCSIN_TRUSTED_PROXIES", ["127.0.0.0/8", "::1/128"])
CSRF_TRUSTED_ORIGINS = [BASE_URL] if BASE_URL.startswith(("http://", "https://")) else []

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",
    "tocsin.core",
    "tocsin.accounts",
    "tocsin.catalog",
    "tocsin.incidents",
    "tocsin.engine",
    "tocsin.notify",
    "tocsin.alerts",
    "tocsin.oncall",
    "tocsin.escalation",
    "tocsin.comms",
    "tocsin.learning",
    "tocsin.reports",
]

MIDDLEWARE = [
    # First: answers the alert ingest routes itself, with only what they need (see there).
    "tocsin.core.middleware.IngestFastPathMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "tocsin.core.middleware.RequestIdMiddleware",
    "tocsin.core.middleware.DatabaseBusyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "tocsin.core.middleware.UserTimezoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "tocsin.core.middleware.TocsinCSPMiddleware",
]

ROOT_URLCONF = "tocsin.urls"
WSGI_APPLICATION = "tocsin.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tocsin.core.context.tocsin",
                "tocsin.comms.major_views.major_banner",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
SQLITE_PATH = DATA_DIR / "tocsin.sqlite3"
_database_url = env_str("DATABASE_URL")
if _database_url:
    DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=60)}
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(SQLITE_PATH)}}
if DATABASES["default"]["ENGINE"] in ("django.db.backends.sqlite3", "tocsin.core.sqlite"):
    # Django's SQLite backend with a fair wait for the write lock (core/sqlite/base.py).
    DATABASES["default"]["ENGINE"] = "tocsin.core.sqlite"
    # Django's default test database for SQLite, said out loud: pytest-django recognises
    # an in-memory test database by the engine's name, which is no longer Django's.
    DATABASES["default"].setdefault("TEST", {}).setdefault("NAME", ":memory:")
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].update(
        {
            # WAL + NORMAL: a committed write survives a killed process (DESIGN.md).
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
            ),
            "transaction_mode": "IMMEDIATE",
            "timeout": 5,
        }
    )
    # Reuse connections (the PRAGMAs above run once per connection, not per request).
    DATABASES["default"]["CONN_MAX_AGE"] = 60
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env_str("TOCSIN_TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise serves from finders, wants it
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_ROOT = DATA_DIR / "attachments"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- HTTPS (docs/production.md): all on when TOCSIN_BASE_URL is https -----------------
HTTPS = BASE_URL.startswith("https://")
# Behind a reverse proxy that terminates TLS, Django sees plain HTTP; the proxy says what
# the client used in X-Forwarded-Proto. Trust it only where only the proxy reaches Tocsin.
TOCSIN_TRUST_PROXY = env_bool("TOCSIN_TRUST_PROXY", False)
if TOCSIN_TRUST_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Redirect http:// to https:// (not without a trusted proxy header: every request would
# look like HTTP and redirect for ever). Health checks and /metrics are probed over plain
# HTTP by load balancers and Prometheus; the ingest routes are answered before this.
SECURE_SSL_REDIRECT = env_bool("TOCSIN_SSL_REDIRECT", HTTPS and TOCSIN_TRUST_PROXY)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env_int("TOCSIN_HSTS_SECONDS", 31_536_000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("TOCSIN_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("TOCSIN_HSTS_PRELOAD", True)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool("TOCSIN_SECURE_COOKIES", HTTPS)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "style-src": ["'self'"],
        "script-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

# Uploads: Django refuses bigger request bodies before Tocsin's own limit checks them.
TOCSIN_ATTACHMENT_MAX_BYTES = env_int("TOCSIN_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024, minimum=1)
TOCSIN_ATTACHMENT_TYPES = env_list(
    "TOCSIN_ATTACHMENT_TYPES",
    [
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "text/plain",
        "text/csv",
        "application/json",
        "application/pdf",
        "application/zip",
        "application/gzip",
    ],
)
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

TOCSIN_AUTO_CLOSE_DAYS = env_int("TOCSIN_AUTO_CLOSE_DAYS", 3, minimum=1)
# Action items (issue 12): the owner is reminded this many days before the due date (0:
# only at the due date), and again at the due date.
TOCSIN_ACTION_ITEM_REMIND_DAYS = env_int("TOCSIN_ACTION_ITEM_REMIND_DAYS", 2, minimum=0)


def _env_seconds(name: str, default: float, *, minimum: float) -> float:
    raw = env_str(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, not {raw!r}") from None
    if not value >= minimum:  # also refuses nan
        raise ConfigError(f"{name} must be at least {minimum}, not {raw}")
    return value


# The worker ticks at least this often when idle, and at once when work is committed.
TOCSIN_ENGINE_TICK_SECONDS = _env_seconds("TOCSIN_ENGINE_TICK_SECONDS", 1.0, minimum=0.01)
# Wall time a module may use in its turn before it hands over (modules that loop stop).
TOCSIN_ENGINE_MODULE_BUDGET_SECONDS = _env_seconds(
    "TOCSIN_ENGINE_MODULE_BUDGET_SECONDS", 0.5, minimum=0.01
)
# Modules that only time makes due (SLA breaches, ack timeouts, heartbeats) look at
# most this often while they find nothing, not on every wake-up.
TOCSIN_ENGINE_TIMER_SECONDS = _env_seconds("TOCSIN_ENGINE_TIMER_SECONDS", 1.0, minimum=0.01)
# SQLite: how often an idle worker looks for another connection's commit (a read of
# `PRAGMA data_version` costs about 2 µs: 200 a second cost well under 1 % of a core).
TOCSIN_ENGINE_SQLITE_POLL_SECONDS = 0.005

EMAIL_URL = env_str("TOCSIN_EMAIL_URL")
DEFAULT_FROM_EMAIL = env_str("TOCSIN_FROM_EMAIL", "tocsin@localhost")
if EMAIL_URL:
    from urllib.parse import unquote, urlparse

    _mail = urlparse(EMAIL_URL)
    EMAIL_HOST = _mail.hostname or "127.0.0.1"
    EMAIL_PORT = _mail.port or 25
    EMAIL_HOST_USER = unquote(_mail.username or "")
    EMAIL_HOST_PASSWORD = unquote(_mail.password or "")
    EMAIL_USE_TLS = _mail.scheme == "smtp+starttls"
    EMAIL_USE_SSL = _mail.scheme == "smtps"
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"

# The domain in integration mail addresses (<key>@domain); default: TOCSIN_BASE_URL's host.
TOCSIN_EMAIL_DOMAIN = env_str("TOCSIN_EMAIL_DOMAIN")
TOCSIN_SMTP_PORT = env_int("TOCSIN_SMTP_PORT", 2525, minimum=1, maximum=65535)
TOCSIN_OUTBOUND_ALLOW = env_list("TOCSIN_OUTBOUND_ALLOW", [])

NINJA_PAGINATION_MAX_LIMIT = 500

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"redact_keys": {"()": "tocsin.core.logsafe.RedactKeysFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_keys"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("TOCSIN_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "mail.log": {"level": "WARNING"},
        # httpx logs every request's URL at INFO: a webhook's path carries its secret
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}

# --- SMS and voice providers (helper phone) ---
# Twilio's REST shape (docs/channels-sms.md). TOCSIN_SMS_* is the first provider,
# TOCSIN_SMS2_* the failover tried at once, in the same send, when the first fails.
# A provider is used when its ACCOUNT, TOKEN and FROM are set; URL defaults to Twilio's.


def _sms_provider(prefix: str) -> dict[str, str] | None:
    values = {k: env_str(f"{prefix}_{k.upper()}") for k in ("url", "account", "token", "from")}
    if not any(values.values()):
        return None
    for k in ("account", "token", "from"):
        if not values[k]:
            raise ConfigError(f"{prefix}_{k.upper()} must be set when {prefix}_* is used")
    url = values["url"] or "https://api.twilio.com"
    if not url.startswith(("https://", "http://")):
        raise ConfigError(f"{prefix}_URL must be an http(s) URL, not {url!r}")
    return {"name": prefix, **values, "url": url.rstrip("/")}


TOCSIN_SMS_PROVIDERS = [
    p for p in (_sms_provider("TOCSIN_SMS"), _sms_provider("TOCSIN_SMS2")) if p is not None
]
# Seconds a provider may take (per connect, write and read) before the next one is tried;
# at most 9, so two providers stay inside the page channels' 60-second lease.
TOCSIN_SMS_TIMEOUT = min(_env_seconds("TOCSIN_SMS_TIMEOUT", 6.0, minimum=0.1), 9.0)
# --- outbox (helper outbox) ---
# Sending threads per worker (tocsin.notify.engine): the engine thread only claims and
# hands each send to this pool. 0 sends in the engine thread, one message at a time.
# 16 (was 8): during a storm a thread waits its turn at SQLite's write lock to record
# each outcome; with 8, all waited and the queued pages with them (docs/benchmarks.md).
TOCSIN_OUTBOX_THREADS = env_int("TOCSIN_OUTBOX_THREADS", 16, minimum=0, maximum=64)
# Sends in flight at once per destination (a webhook host, one phone number, the SMTP
# relay): a tarpitting host ties up only its own slots (half the default pool).
TOCSIN_OUTBOX_PER_DESTINATION = env_int("TOCSIN_OUTBOX_PER_DESTINATION", 8, minimum=1, maximum=64)
# Overrides every channel's lease, in seconds (0: each channel's own). It must outlast
# the longest a send can take; tests set a few seconds so a killed worker's claim runs
# out quickly.
TOCSIN_OUTBOX_LEASE_SECONDS = _env_seconds("TOCSIN_OUTBOX_LEASE_SECONDS", 0.0, minimum=0.0)
# How long a stopping worker waits for the sends in flight before it gives up on them.
TOCSIN_OUTBOX_STOP_WAIT_SECONDS = _env_seconds("TOCSIN_OUTBOX_STOP_WAIT_SECONDS", 5.0, minimum=0.0)
# At most one SMS or voice call per contact method in this many seconds; pages due
# meanwhile wait and go out together as one bundle.
TOCSIN_OUTBOX_THROTTLE_SECONDS = 60

# Hierarchical escalation (issue 11): an SLA breach notifies the team's manager once per
# incident and target (a ManagementNotice). TOCSIN_SLA_NOTIFY_MANAGEMENT=0 turns it off.
SLA_NOTIFY_MANAGEMENT = env_bool("TOCSIN_SLA_NOTIFY_MANAGEMENT", True)

# --- Prometheus /metrics (issue 13; docs/prometheus.md) ---
# A scraper gets /metrics with `Authorization: Bearer <TOCSIN_METRICS_TOKEN>` or from an
# address in TOCSIN_METRICS_ALLOW (loopback by default; `none`: only with the token).
TOCSIN_METRICS_TOKEN = env_str("TOCSIN_METRICS_TOKEN")
TOCSIN_METRICS_ALLOW = prometheus_env.allow_list(
    env_list("TOCSIN_METRICS_ALLOW", prometheus_env.LOOPBACK)
)
# Sets PROMETHEUS_MULTIPROC_DIR before anything imports prometheus_client.
PROMETHEUS_DIR = prometheus_env.configure(DATA_DIR)
