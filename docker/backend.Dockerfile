# CAMS backend image: Django under gunicorn, as on the VMs (same app, same settings modules). Build context: the
# repository root (.dockerignore keeps what is copied). docs/docker.md.
#
# PYTHON_IMAGE is the official python:3.11-slim by default; where no registry is reachable scripts/compose.sh passes
# a local base (Debian's python3.11, docker/local-bases.Dockerfile) and PIP_NO_INDEX=1 with the controller's
# wheelhouse in .artifacts/compose-wheels.
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
# "1": install only from the wheelhouse (offline); "0": from PyPI, the wheelhouse first when present.
ARG PIP_NO_INDEX=0
# libpq and a compiler for any requirement without a wheel; they stay in this stage.
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends build-essential libpq-dev \
 && rm -rf /var/lib/apt/lists/*
# Requirements before the source: the dependency layers stay cached while only the code changes.
# .artifact[s]/compose-wheel[s] matches nothing without a wheelhouse (each part a pattern: BuildKit fails on a
# missing directory before a pattern), and the COPY still succeeds with the requirements.
COPY app/requirements.txt app/requirements-dev.txt .artifact[s]/compose-wheel[s] /wheels/
RUN python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check --quiet \
      --find-links=/wheels --requirement=/wheels/requirements.txt

FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=backend.settings.prod \
    STATIC_ROOT=/opt/cams/static \
    WEB_CONCURRENCY=2 \
    GUNICORN_CMD_ARGS="--bind=0.0.0.0:8000 --access-logfile=-"
# The app's user; the static volume's mount point is created with its owner, so a new volume inherits it.
RUN groupadd --system --gid 10001 cams \
 && useradd --system --uid 10001 --gid cams --home-dir /app --shell /usr/sbin/nologin cams \
 && install -d -o cams -g cams -m 0755 /srv/static
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY app/manage.py ./
COPY app/backend ./backend
COPY app/cams ./cams
COPY docker/backend-entrypoint.sh /usr/local/bin/cams-entrypoint
# collectstatic needs the settings to load, and prod's require these: placeholders for this one command only.
RUN SECRET_KEY=collectstatic-only PROD_DATABASE_URL=postgres://collectstatic@127.0.0.1/none \
    PROD_ALLOWED_HOSTS=collectstatic DATABASE_HEALTH_PROBE_INTERVAL=0 \
    python manage.py collectstatic --noinput --verbosity=0
USER cams
EXPOSE 8000
# The base image may stop its init with another signal (the local base: systemd's SIGRTMIN+3); gunicorn wants SIGTERM.
STOPSIGNAL SIGTERM
# /health/ answers at once while the process serves (the Host must be in PROD_ALLOWED_HOSTS: 127.0.0.1).
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health/', timeout=4)"]
ENTRYPOINT ["cams-entrypoint"]
CMD ["gunicorn", "backend.wsgi"]

# The test suite in the image (CI: docker build --target test): the dev requirements and PostgreSQL's server
# binaries (the suite starts its own throwaway clusters). Last, so building runtime never builds it.
FROM runtime AS test
USER root
RUN mkdir -p /etc/postgresql-common/createcluster.d \
 && echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.d/cams.conf \
 && printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 0755 /usr/sbin/policy-rc.d \
 && apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql-15 \
 && rm -rf /var/lib/apt/lists/* /usr/sbin/policy-rc.d
COPY --from=build /wheels /wheels
ARG PIP_NO_INDEX=0
RUN pip install --no-cache-dir --disable-pip-version-check --quiet \
      --find-links=/wheels --requirement=/wheels/requirements-dev.txt
COPY app/pytest.ini ./
COPY app/tests ./tests
RUN chown -R cams:cams /app
USER cams
ENV DJANGO_SETTINGS_MODULE=backend.settings.dev
ENTRYPOINT []
# Not test_metrics_server.py: it runs gunicorn with the VMs' settings, rendered from roles/ with Jinja (make test-app).
CMD ["python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "--ignore=tests/test_metrics_server.py"]
