"""Haven settings: one file, every value from the environment (see docs/deploy.md).

The embedded default (no variables set) is a single-machine install: SQLite in ``var/``, a secret
key generated on first run and kept beside it. ``HAVEN_ENV=production`` turns every default that is
only safe on a laptop into a hard requirement.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from haven.core.env import env_bool, env_choice, env_database, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent
HAVEN_ENV = env_choice("HAVEN_ENV", "embedded", ("embedded", "production"))
PRODUCTION = HAVEN_ENV == "production"
DATA_DIR = Path(env_str("HAVEN_DATA_DIR", str(BASE_DIR.parent / "var"))).resolve()


def _secret_key() -> str:
    configured = env_str("HAVEN_SECRET_KEY", "")
    if configured:
        if len(configured) < 50 or len(set(configured)) < 5:
            raise ImproperlyConfigured("HAVEN_SECRET_KEY: must be at least 50 characters of random text")
        return configured
    if PRODUCTION:
        raise ImproperlyConfigured("HAVEN_SECRET_KEY: must be set when HAVEN_ENV=production")
    # Embedded default: generate once and keep it, so sessions and signatures survive restarts.
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        key_file.touch(mode=0o600)
        key_file.write_text(secrets.token_urlsafe(64))
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("HAVEN_DEBUG", False)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("HAVEN_DEBUG: must be false when HAVEN_ENV=production")
ALLOWED_HOSTS = env_list("HAVEN_ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]"])
if PRODUCTION and (not ALLOWED_HOSTS or "*" in ALLOWED_HOSTS):
    raise ImproperlyConfigured(
        "HAVEN_ALLOWED_HOSTS: must list the host names (not *) when HAVEN_ENV=production"
    )
CSRF_TRUSTED_ORIGINS = env_list("HAVEN_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_tasks_db",
    "ninja",
    "haven.core",
    "haven.audit",
    "haven.accounts",
    "haven.protocols",
    "haven.patients",
    "haven.scheduling",
    "haven.screening",
    "haven.dosing",
    "haven.outcomes",
    "haven.inventory",
    "haven.safety",
    "haven.trials",
    "haven.home",
    "haven.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "haven.accounts.middleware.SessionGuardMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "haven.core.middleware.DomainErrorMiddleware",
]

ROOT_URLCONF = "haven.urls"
ASGI_APPLICATION = "haven.asgi.application"
WSGI_APPLICATION = "haven.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "haven.core.context_processors.haven",
                "haven.trials.context_processors.studies_nav",
            ],
        },
    },
]

# Databases ------------------------------------------------------------------------------------
DATABASES = {"default": env_database("HAVEN_DATABASE_URL", f"sqlite:///{DATA_DIR / 'haven.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers proceed while one writer writes; IMMEDIATE takes the write lock at BEGIN so
    # two transactions never both read and then fail to upgrade; the busy timeout makes a writer
    # wait for the lock instead of failing at once.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    if not str(DATABASES["default"]["NAME"]).startswith(":"):
        Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    if PRODUCTION:
        raise ImproperlyConfigured(
            "HAVEN_DATABASE_URL: production runs on PostgreSQL (postgres://…); SQLite is for embedded installs"
        )
else:
    # Under ASGI each request may run in a different thread, so Django advises against persistent
    # connections. Instead each server process keeps a small psycopg connection pool (a new
    # connection costs ~4 ms a request); HAVEN_DB_POOL_MAX_SIZE=0 turns it off, e.g. behind PgBouncer.
    _POOL_MAX = env_int("HAVEN_DB_POOL_MAX_SIZE", 8, minimum=0, maximum=100)
    if _POOL_MAX:
        DATABASES["default"]["OPTIONS"] = {"pool": {"min_size": 1, "max_size": _POOL_MAX, "timeout": 10}}
        DATABASES["default"]["CONN_MAX_AGE"] = 0
    else:
        DATABASES["default"]["CONN_MAX_AGE"] = env_int("HAVEN_DB_CONN_MAX_AGE", 0, minimum=0)
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Background work ------------------------------------------------------------------------------
TASKS: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]},
}

# Accounts and sessions ------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home:index"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
HAVEN_IDLE_TIMEOUT = timedelta(minutes=env_int("HAVEN_IDLE_TIMEOUT_MINUTES", 15, minimum=1, maximum=720))
HAVEN_LOCKOUT_THRESHOLD = env_int("HAVEN_LOCKOUT_THRESHOLD", 5, minimum=3, maximum=20)
HAVEN_LOCKOUT_DURATION = timedelta(minutes=env_int("HAVEN_LOCKOUT_MINUTES", 15, minimum=1, maximum=1440))
SESSION_COOKIE_AGE = 12 * 60 * 60  # an absolute ceiling; the idle timeout is far shorter
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
OTP_TOTP_ISSUER = "Haven"

# Security headers -----------------------------------------------------------------------------
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
    "base-uri": [CSP.NONE],
    "object-src": [CSP.NONE],
}
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("HAVEN_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("HAVEN_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Static files ---------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("HAVEN_STATIC_ROOT", str(DATA_DIR / "static"))).resolve()
# Embedded installs serve straight from the apps' folders; production runs collectstatic first.
WHITENOISE_USE_FINDERS = not PRODUCTION
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
if PRODUCTION:
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }

# E-mail (alert escalations). The embedded default writes messages to the console log.
_SMTP = "django.core.mail.backends.smtp.EmailBackend"
_EMAIL_BACKEND = env_str(
    "HAVEN_EMAIL_BACKEND", _SMTP if PRODUCTION else "django.core.mail.backends.console.EmailBackend"
)
MAILERS = {
    "default": {
        "BACKEND": _EMAIL_BACKEND,
        "OPTIONS": {
            "host": env_str("HAVEN_EMAIL_HOST", "localhost"),
            "port": env_int("HAVEN_EMAIL_PORT", 25, minimum=1, maximum=65535),
            "use_tls": env_bool("HAVEN_EMAIL_USE_TLS", False),
        }
        if _EMAIL_BACKEND == _SMTP
        else {},
    }
}
DEFAULT_FROM_EMAIL = env_str("HAVEN_EMAIL_FROM", "haven@localhost")

# The patient portal ----------------------------------------------------------------------------
# The address patients' links point to, and how links and reminders reach them. Senders: "console"
# (the message is written to the log; the embedded default) or "email" (Django's mailer). Text
# messages go through the class named by HAVEN_SMS_SENDER (dotted path; "console" logs them).
HAVEN_PUBLIC_URL = env_str("HAVEN_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
HAVEN_PORTAL_EMAIL_SENDER = env_choice(
    "HAVEN_PORTAL_EMAIL_SENDER", "email" if PRODUCTION else "console", ("console", "email")
)
HAVEN_SMS_SENDER = env_str("HAVEN_SMS_SENDER", "console")
HAVEN_PORTAL_LINK_DAYS = env_int("HAVEN_PORTAL_LINK_DAYS", 14, minimum=1, maximum=90)
# A questionnaire's safety alert unacknowledged this long goes to every physician of the site.
HAVEN_SAFETY_ESCALATE_MINUTES = env_int("HAVEN_SAFETY_ESCALATE_MINUTES", 15, minimum=1, maximum=1440)
# How long before an SAE report's deadline `haven monitor` reminds the team (once per deadline).
HAVEN_SAE_REMIND_INITIAL_HOURS = env_int("HAVEN_SAE_REMIND_INITIAL_HOURS", 6, minimum=1, maximum=23)
HAVEN_SAE_REMIND_EXPEDITED_HOURS = env_int("HAVEN_SAE_REMIND_EXPEDITED_HOURS", 48, minimum=1, maximum=168)

# Uploaded files (signed consent PDFs) --------------------------------------------------------------
# Never served as public media: pages stream them after an access check.
MEDIA_ROOT = Path(env_str("HAVEN_MEDIA_ROOT", str(DATA_DIR / "media"))).resolve()
MEDIA_URL = "/media/"
HAVEN_MAX_UPLOAD_BYTES = env_int("HAVEN_MAX_UPLOAD_MB", 20, minimum=1, maximum=200) * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = HAVEN_MAX_UPLOAD_BYTES

# Locale ---------------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {
        "handlers": ["console"],
        "level": env_choice("HAVEN_LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR")),
    },
    # WeasyPrint (the study report's PDF) warns about every screen-only rule of app.css and logs its
    # progress; its errors (a resource it could not or may not load) still show.
    "loggers": {"weasyprint": {"level": "ERROR"}},
}
