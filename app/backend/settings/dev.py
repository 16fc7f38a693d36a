"""Local development: DEBUG on, plain http, a local PostgreSQL by default."""

from .base import *  # noqa: F403
from .base import comma_list, database_config, env, environment_name

CAMS_ENVIRONMENT = environment_name(__name__)

DEBUG = True
# Only ever used on a developer's machine; staging and prod require SECRET_KEY.
SECRET_KEY = env.str(
    "SECRET_KEY", default="django-insecure-dev-only-0c5f1f0a8e7d4b6c9a2e3f4d5c6b7a8e9f0d1c2b3a4"
)

DATABASES = {
    "default": database_config(
        "DEV_DATABASE_URL",
        test_url_var="DEV_TEST_DATABASE_URL",
        default_url="postgres://cams:cams@127.0.0.1:5432/cams",
    )
}

ALLOWED_HOSTS = comma_list("DEV_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = comma_list("DEV_CSRF_TRUSTED_ORIGINS", default=[])

# runserver speaks plain http: no redirects, no HSTS, cookies without the Secure flag.
SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0
SESSION_COOKIE_SECURE = False
SESSION_COOKIE_NAME = "sessionid"
CSRF_COOKIE_SECURE = False
CSRF_COOKIE_NAME = "csrftoken"
