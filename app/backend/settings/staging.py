"""Staging: production hardening from base, its own STAGING_* variables.

Tests may load it, but then use STAGING_TEST_DATABASE_URL whenever it is set.
"""

from .base import *  # noqa: F403
from .base import deployed_settings

CAMS_ENVIRONMENT, SECRET_KEY, DATABASES, ALLOWED_HOSTS, CSRF_TRUSTED_ORIGINS = deployed_settings(
    __name__, test_url_var="STAGING_TEST_DATABASE_URL"
)
