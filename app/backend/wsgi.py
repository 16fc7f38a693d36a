"""WSGI entry point: gunicorn runs ``backend.wsgi:application`` from the release's app/ directory."""

import os

from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application

# No default environment here: a host that forgot to choose one must not silently serve dev settings.
if not os.environ.get("DJANGO_SETTINGS_MODULE"):
    raise ImproperlyConfigured(
        "Set DJANGO_SETTINGS_MODULE to backend.settings.dev, backend.settings.staging or backend.settings.prod."
    )

application = get_wsgi_application()

# Only WSGI servers load this module (gunicorn: each worker), never manage.py commands.
from cams.database_status import database_indicator  # noqa: E402 - needs the settings get_wsgi_application set up
from cams.metrics import record_serving_process  # noqa: E402

record_serving_process()
database_indicator()  # starts this worker's database probe now, so that its first /health/ already knows
