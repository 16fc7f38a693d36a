#!/bin/sh
# The frontend image's entrypoint: point nginx at the backend, then become nginx (PID 1, gets docker's stop signal).
#
# Env:
#   CAMS_BACKEND_ADDRESS   host:port of the backend's gunicorn (default web:8000, the compose service)
set -eu

printf 'upstream cams_app {\n    server %s;\n}\n' "${CAMS_BACKEND_ADDRESS:-web:8000}" > /etc/nginx/conf.d/cams-upstream.conf
exec "$@"
