"""Production: production hardening from base, its own PROD_* variables, never under tests."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import deployed_settings, running_tests

# A test run must not get anywhere near the production database, whatever URL it was given.
if running_tests():
    raise ImproperlyConfigured(
        "backend.settings.prod refuses to load during a test run; use backend.settings.dev or .staging."
    )

CAMS_ENVIRONMENT, SECRET_KEY, DATABASES, ALLOWED_HOSTS, CSRF_TRUSTED_ORIGINS = deployed_settings(__name__)
