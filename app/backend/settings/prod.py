"""Production: production hardening from base, its own PROD_* variables, never under tests."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import comma_list, database_config, environment_name, required_env, running_tests

# A test run must not get anywhere near the production database, whatever URL it was given.
if running_tests():
    raise ImproperlyConfigured(
        "backend.settings.prod refuses to load during a test run; use backend.settings.dev or .staging."
    )

CAMS_ENVIRONMENT = environment_name(__name__)

SECRET_KEY = required_env("SECRET_KEY")

DATABASES = {"default": database_config("PROD_DATABASE_URL")}

ALLOWED_HOSTS = comma_list("PROD_ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = comma_list("PROD_CSRF_TRUSTED_ORIGINS", default=[])
