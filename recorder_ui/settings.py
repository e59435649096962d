"""Django settings. The only module that reads os.environ: a laptop and a team server differ by variables alone."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, NoReturn

import dj_database_url
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent
env = os.environ.get


def _flag(name: str, default: bool = False) -> bool:
    value = env(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


def _stop(message: str) -> NoReturn:
    """A setting the server cannot start with: one line saying which and why, not a traceback."""
    print(f"recorder-ui: {message}", file=sys.stderr)
    raise SystemExit(4)  # 4 is gunicorn's "App failed to load": it stops instead of booting workers forever


def _number(name: str, default: str, kind: type[int] | type[float] = int, *, negative: bool = False) -> Any:
    """A whole number (or, for float, any number) of at least 0 from the environment; with negative, below 0 too."""
    text = env(name, default).strip() or default
    try:
        value = kind(text)
    except ValueError:
        value = float("nan")
    if not (-float("inf") if negative else 0) <= value < float("inf"):
        what = f"{'whole ' if kind is int else ''}number{'' if negative else ' of 0 or more'}"
        _stop(f"{name}={text!r} is not a {what} (default {default})")
    return value


# Production mode: a team server says RECORDER_UI_PRODUCTION=1 and must then bring its own secret key.
PRODUCTION = _flag("RECORDER_UI_PRODUCTION")
DEBUG = _flag("RECORDER_UI_DEBUG") and not PRODUCTION  # off unless asked for, and never in production mode
SECRET_KEY = env("RECORDER_UI_SECRET_KEY", "")
if not SECRET_KEY:
    if PRODUCTION:  # a one-line error, not a traceback: the operator's next step is all that matters
        _stop(
            "RECORDER_UI_SECRET_KEY is not set. Production mode needs a long random secret, e.g. "
            'RECORDER_UI_SECRET_KEY=$(python3 -c "import secrets; print(secrets.token_urlsafe(50))")'
        )
    SECRET_KEY = "dev-only-not-secret-" + "x" * 40  # `check --deploy` flags it: never used in production mode
ALLOWED_HOSTS = _list("RECORDER_UI_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = _list("RECORDER_UI_CSRF_TRUSTED_ORIGINS")

# Recordings: the default root, and optional extra named roots ("name=path;name=path").
RECORDINGS_DIR = Path(env("RECORDINGS_DIR", str(BASE_DIR / "recordings"))).expanduser()
RECORDINGS_ROOTS = env("RECORDER_UI_ROOTS", "")
# Files above this size are not parsed: they get a "too large" error instead, so memory stays bounded.
MAX_RECORDING_BYTES = _number("RECORDER_UI_MAX_RECORDING_BYTES", str(20 * 1024 * 1024))
# A form's body: Find takes a pasted CI log (`gh run view --log-failed` is often several MB) and reads its first
# 200,000 characters; beyond this the page says the paste is too large, rather than Django's bare 400.
DATA_UPLOAD_MAX_MEMORY_SIZE = 32 * 1024 * 1024
# The Raw tab offers a download instead of a pretty view above this size.
RAW_VIEW_MAX_BYTES = _number("RECORDER_UI_RAW_VIEW_MAX_BYTES", str(512 * 1024))
# How often (seconds) a page request may trigger a cheap stat re-scan of the roots; 0 turns it off.
AUTO_REFRESH_SECONDS = _number("RECORDER_UI_AUTO_REFRESH_SECONDS", "5", float, negative=True)  # 0 or less: off
# Re-scans run in a background thread so pages never wait; tests turn this off to run them in line.
REFRESH_IN_BACKGROUND = _flag("RECORDER_UI_REFRESH_IN_BACKGROUND", True)
REQUIRE_LOGIN = _flag("RECORDER_UI_REQUIRE_LOGIN")
# Where each server process says what its re-index is doing, for the other workers' progress answers; the
# system's temporary folder by default (one per service under systemd's PrivateTmp, which its workers share).
REFRESH_STATE_DIR = env("RECORDER_UI_REFRESH_STATE_DIR", "")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "recorder_ui",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "recorder_ui.middleware.RejectNulMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "recorder_ui.middleware.LoginRequiredMiddleware",
]

ROOT_URLCONF = "recorder_ui.urls"
WSGI_APPLICATION = "recorder_ui.wsgi.application"

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
                "django.template.context_processors.csp",
            ],
            "builtins": ["recorder_ui.templatetags.recorder"],
        },
    },
]

# SQLite by default; DATABASE_URL (postgres://...) selects the team database.
_DATABASE_URL = env("DATABASE_URL", "") or f"sqlite:///{env('RECORDER_UI_DB', str(BASE_DIR / 'db.sqlite3'))}"
try:
    DATABASES = {
        "default": dj_database_url.parse(_DATABASE_URL, conn_max_age=_number("RECORDER_UI_CONN_MAX_AGE", "60"))
    }
except ValueError as exc:  # UnknownSchemeError too; the URL (and its password) is not repeated
    kind = type(exc).__name__
    _stop(f"DATABASE_URL is not a database URL recorder-ui can use ({kind}): postgres://user:pass@host:5432/db")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers go on while the indexer writes; the timeout waits out a concurrent writer.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "overview"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# collectstatic writes here; a laptop serves straight from static/ (WHITENOISE_USE_FINDERS) and needs none.
STATIC_ROOT = (
    Path(env("RECORDER_UI_STATIC_ROOT", str(BASE_DIR / "staticfiles")))
    if PRODUCTION or env("RECORDER_UI_STATIC_ROOT")
    else None
)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION

# Content-Security-Policy: no inline script or style anywhere, so injected markup cannot run.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],  # inline data: thumbnails from requests; remote images are links only
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
if PRODUCTION:
    SECURE_SSL_REDIRECT = _flag("RECORDER_UI_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = _number("RECORDER_UI_HSTS_SECONDS", "31536000")
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = _flag("RECORDER_UI_HSTS_PRELOAD", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    # RECORDER_UI_SSL_REDIRECT=0 says the proxy redirects to HTTPS (docs/hosting.md): check --deploy need not warn.
    SILENCED_SYSTEM_CHECKS = [] if SECURE_SSL_REDIRECT else ["security.W008"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"one_line": {"()": "recorder_ui.logs.WithoutTraceback"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "stream": sys.stderr},
        "console_one_line": {"class": "logging.StreamHandler", "stream": sys.stderr, "filters": ["one_line"]},
    },
    "root": {"handlers": ["console"], "level": env("RECORDER_UI_LOG_LEVEL", "WARNING")},
    # A request for a host name not served (scanners, a stale DNS name): one line each, not a traceback.
    "loggers": {"django.security.DisallowedHost": {"handlers": ["console_one_line"], "propagate": False}},
}
