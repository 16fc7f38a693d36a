from django.apps import AppConfig


class CamsConfig(AppConfig):
    name = "cams"
    verbose_name = "CAMS"

    def ready(self):
        from . import checks  # noqa: F401 - registers the system checks
        from .jwt_auth import get_jwt_config

        # Refuse to start (runserver, gunicorn, any manage.py command) with an unsafe JWT setup;
        # system checks alone would not stop gunicorn.
        get_jwt_config()
