#!/bin/sh
# The backend image's entrypoint: wait (bounded) for the settings' database, apply migrations, then become the
# server (exec: gunicorn is PID 1 and gets docker's SIGTERM itself). `docker run IMAGE sh` etc. skip the waiting.
#
# Env:
#   CAMS_DB_WAIT_TIMEOUT     seconds to wait for PostgreSQL before giving up with exit 1 (default 60)
#   CAMS_STATIC_EXPORT_DIR   copy the image's collected static files there (the static volume nginx serves)
set -eu

case "${1:-}" in
  gunicorn|python|django-admin) ;;
  *) exec "$@" ;;
esac

timeout="${CAMS_DB_WAIT_TIMEOUT:-60}"
echo "[entrypoint] waiting up to ${timeout} s for the database"
# Django's own connection settings (DATABASES of DJANGO_SETTINGS_MODULE): what migrate and the app will use.
python - "$timeout" <<'PY'
import sys
import time

import django

django.setup()
from django.db import connection
from django.db.utils import OperationalError

deadline = time.monotonic() + float(sys.argv[1])
settings = connection.settings_dict
where = f"{settings.get('HOST') or 'localhost'}:{settings.get('PORT') or 5432}/{settings.get('NAME')}"
while True:
    try:
        connection.ensure_connection()
    except OperationalError as error:
        if time.monotonic() >= deadline:
            reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            print(f"[entrypoint] ERROR: database {where} not ready after {sys.argv[1]} s: {reason}", file=sys.stderr)
            sys.exit(1)
        time.sleep(1)
    else:
        connection.close()
        print(f"[entrypoint] database {where} is ready")
        break
PY

python manage.py migrate --noinput

if [ -n "${CAMS_STATIC_EXPORT_DIR:-}" ]; then
  cp -R "$STATIC_ROOT/." "$CAMS_STATIC_EXPORT_DIR/"
fi

exec "$@"
