"""Staging: production hardening from base, its own STAGING_* variables.

Tests may load it, but then use STAGING_TEST_DATABASE_URL whenever it is set.
"""

from .base import *  # noqa: F403
from .base import comma_list, database_config, environment_name, required_env

CAMS_ENVIRONMENT = environment_name(__name__)

SECRET_KEY = required_env("SECRET_KEY")

DATABASES = {"default": database_config("STAGING_DATABASE_URL", test_url_var="STAGING_TEST_DATABASE_URL")}

ALLOWED_HOSTS = comma_list("STAGING_ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = comma_list("STAGING_CSRF_TRUSTED_ORIGINS", default=[])
