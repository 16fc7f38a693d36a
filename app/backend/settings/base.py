"""Settings shared by every CAMS environment.

Secure by default: this module holds the hardened values staging and prod run with, and
dev relaxes them explicitly. Each environment module names its own variables (DEV_*,
STAGING_*, PROD_*) and none falls back to a shared one, so one environment never picks up
another's configuration.
"""

import os
import sys
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

# app/ — the release root on hosts (/srv/cams/releases/<id>/app) and gunicorn's working directory.
BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()


# Helpers for the environment modules ----------------------------------------------------------


def environment_name(settings_module: str) -> str:
    """The environment is the settings module's last component: backend.settings.prod -> "prod"."""
    return settings_module.rpartition(".")[2]


def running_tests() -> bool:
    """Whether this process belongs to a test run, so it must never reach live data.

    pytest >= 8.2 sets PYTEST_VERSION for the whole session; pytest-django imports settings
    before PYTEST_CURRENT_TEST exists, hence the sys.modules check as well.
    """
    return (
        "PYTEST_CURRENT_TEST" in os.environ
        or "PYTEST_VERSION" in os.environ
        or env.bool("DJANGO_USE_TEST_DATABASE", default=False)
        or "pytest" in sys.modules
    )


def required_env(var: str) -> str:
    """A variable the environment cannot start without; empty counts as missing."""
    value = env.str(var, default="").strip()
    if not value:
        raise ImproperlyConfigured(f"Set the {var} environment variable.")
    return value


def comma_list(var: str, default: list[str] | None = None) -> list[str]:
    """A comma-separated list; without a default the variable is required and must not be empty."""
    values = env.list(var, default=default or [])
    if not values and default is None:
        raise ImproperlyConfigured(f"Set the {var} environment variable (comma-separated list).")
    return values


def database_config(url_var: str, test_url_var: str | None = None, default_url: str | None = None) -> dict:
    """The default database from the environment's own URL variable; no shared fallback.

    During a test run ``test_url_var`` wins whenever it is set, so tests never write to the
    live database. Without a URL and without ``default_url`` start-up fails naming ``url_var``.
    """
    url = os.environ.get(url_var) or default_url
    if test_url_var and running_tests():
        url = os.environ.get(test_url_var) or url
    if not url:
        raise ImproperlyConfigured(f"Set the {url_var} environment variable.")

    config = env.db_url_config(url)
    if config["ENGINE"] == "django.db.backends.postgresql":
        # PostgreSQL, and while the role's password is rotated the one it replaces (cams/postgresql/base.py).
        config["ENGINE"] = "cams.postgresql"
        config["PREVIOUS_PASSWORD"] = os.environ.get(url_var.removesuffix("_URL") + "_PREVIOUS_PASSWORD", "")
    # Fail fast instead of hanging a worker on an unreachable server.
    config["OPTIONS"] = {**config.get("OPTIONS", {}), "connect_timeout": env.int("DATABASE_CONNECT_TIMEOUT", default=5)}
    config["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    config["CONN_HEALTH_CHECKS"] = True
    # Views opt out where they must not open a connection up front (health, DB-status APIs).
    config["ATOMIC_REQUESTS"] = True
    return config


def deployed_settings(settings_module: str, *, test_url_var: str | None = None) -> tuple:
    """What staging and prod both read, each from its own <ENV>_* variables, in this order:
    CAMS_ENVIRONMENT, SECRET_KEY, DATABASES, ALLOWED_HOSTS, CSRF_TRUSTED_ORIGINS.

    A missing required variable fails start-up naming it.
    """
    environment = environment_name(settings_module)
    prefix = environment.upper()
    return (
        environment,
        required_env("SECRET_KEY"),
        {"default": database_config(f"{prefix}_DATABASE_URL", test_url_var=test_url_var)},
        comma_list(f"{prefix}_ALLOWED_HOSTS"),
        comma_list(f"{prefix}_CSRF_TRUSTED_ORIGINS", default=[]),
    )


# Release identity (written by the deploy tooling into the host's environment) ------------------

CAMS_RELEASE_ID = env.str("CAMS_RELEASE_ID", default="unknown")
CAMS_RELEASE_SHA = env.str("CAMS_RELEASE_SHA", default="unknown")
CAMS_RELEASE_BRANCH = env.str("CAMS_RELEASE_BRANCH", default="unknown")
CAMS_DEPLOYED_AT = env.str("CAMS_DEPLOYED_AT", default="unknown")

# Readiness and dashboard database probes use their own short-lived connection with these limits.
CAMS_DATABASE_PROBE_CONNECT_TIMEOUT = env.int("DATABASE_PROBE_CONNECT_TIMEOUT", default=2)
CAMS_DATABASE_PROBE_STATEMENT_TIMEOUT = env.float("DATABASE_PROBE_STATEMENT_TIMEOUT", default=2.0)
# /health/, /health/ready/ and the dashboard report what a background thread per process, probing with those limits,
# last saw: seconds between its probes (0 turns it off: /health/ then says "unknown", the others probe on the request).
CAMS_DATABASE_HEALTH_PROBE_INTERVAL = env.float("DATABASE_HEALTH_PROBE_INTERVAL", default=5.0)

# Monitoring: Alertmanager's API, where the dashboard reads the environment's firing alerts (empty: not monitored).
CAMS_ALERTMANAGER_URL = env.str("CAMS_ALERTMANAGER_URL", default="").strip().rstrip("/")
# A dashboard request waits no longer than this for Alertmanager.
CAMS_ALERTMANAGER_TIMEOUT_SECONDS = 2.0

# Core -------------------------------------------------------------------------------------------

DEBUG = False

# During a rotation of SECRET_KEY: the keys it replaced, newest first (comma list). They only verify what they signed
# (sessions, password reset links, signed values); SECRET_KEY signs. Drop them once that may expire.
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "cams",
]

# None of these touch the database unless a view reads request.session or request.user,
# which the health, metrics and API views never do. django-prometheus's pair brackets the others: the first one's
# totals and latency include them, the last one's per-view metrics (status, latency) are the views' own.
MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "backend.urls"
WSGI_APPLICATION = "backend.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))

# Security (hardened by default; dev relaxes) ----------------------------------------------------

# nginx terminates TLS and sets X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
# Load balancers and the deployer probe health, Prometheus scrapes metrics, over plain http; a redirect would fail them.
SECURE_REDIRECT_EXEMPT = [r"^health/", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_NAME = "__Secure-sessionid"
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_NAME = "__Secure-csrftoken"

# JWT for the dashboard APIs (validated at start-up by cams.apps) --------------------------------

# Empty means "sign and verify with SECRET_KEY".
JWT_AUTH_SECRET = env.str("JWT_AUTH_SECRET", default="")
# During a rotation of JWT_AUTH_SECRET: the secret it replaced still verifies tokens until the given time (ISO 8601
# with a UTC offset), so tokens minted before the rotation keep working until then; never signs.
JWT_AUTH_PREVIOUS_SECRET = env.str("JWT_AUTH_PREVIOUS_SECRET", default="")
JWT_AUTH_PREVIOUS_SECRET_EXPIRES = env.str("JWT_AUTH_PREVIOUS_SECRET_EXPIRES", default="")
# JWT_AUTH_ALGORITHMS (comma list, e.g. an identity provider's RS256) overrides JWT_AUTH_ALGORITHM.
JWT_AUTH_ALGORITHMS = env.list("JWT_AUTH_ALGORITHMS", default=[env.str("JWT_AUTH_ALGORITHM", default="HS256")])
# multiline: a PEM passed through an env file may carry literal "\n" sequences.
JWT_AUTH_PUBLIC_KEY = env.str("JWT_AUTH_PUBLIC_KEY", default="", multiline=True)
JWT_AUTH_AUDIENCE = env.str("JWT_AUTH_AUDIENCE", default="")
JWT_AUTH_ISSUER = env.str("JWT_AUTH_ISSUER", default="")
JWT_AUTH_LEEWAY = env.int("JWT_AUTH_LEEWAY", default=30)

# Logging: stdout only, journald adds timestamps and the unit name -------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(levelname)s %(name)s %(message)s"}},
    "handlers": {"stdout": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": "plain"}},
    "root": {"handlers": ["stdout"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
}
