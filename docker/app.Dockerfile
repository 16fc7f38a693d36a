# CAMS backend for local development (docker-compose.yml): a venv with the pinned requirements,
# the code comes from a bind mount of app/. Build context: .artifacts/compose-wheels (scripts/compose.sh).
ARG BASE_IMAGE=cams/debian-systemd:bookworm
FROM ${BASE_IMAGE}

# postgresql-15 for its server binaries: the app's test suite starts its own throwaway clusters.
# No default cluster, and nothing starts during the build (policy-rc.d).
# Keep this RUN identical in app.Dockerfile and postgres.Dockerfile: the builder then reuses one layer for both.
RUN mkdir -p /etc/postgresql-common/createcluster.d \
 && echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.d/cams.conf \
 && printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 0755 /usr/sbin/policy-rc.d \
 && apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql-15 \
 && rm -rf /var/lib/apt/lists/* /usr/sbin/policy-rc.d

RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv \
 && rm -rf /var/lib/apt/lists/*

# Offline install from the host-built wheelhouse, as on the hosts (containers cannot reach PyPI).
COPY . /opt/cams-wheels
RUN python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install --quiet --disable-pip-version-check --no-index \
      --find-links=/opt/cams-wheels --requirement=/opt/cams-wheels/requirements-dev.txt

# No bytecode: it would land root-owned in the bind-mounted source tree.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=backend.settings.dev
WORKDIR /app
# The base image stops systemd with SIGRTMIN+3; runserver wants SIGTERM.
STOPSIGNAL SIGTERM
# Migrations first, so /health/ready/ is green as soon as the server answers.
CMD ["sh", "-c", "python manage.py migrate --noinput && exec python manage.py runserver 0.0.0.0:8000"]
