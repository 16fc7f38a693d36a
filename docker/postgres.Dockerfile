# PostgreSQL 15 (Debian's) for local development (docker-compose.yml), in the foreground as postgres.
# Build context: docker/.
ARG BASE_IMAGE=cams/debian-systemd:bookworm
FROM ${BASE_IMAGE}

# No default cluster (the entrypoint creates its own in the volume), nothing starts during the build (policy-rc.d).
# Keep this RUN identical in app.Dockerfile and postgres.Dockerfile: the builder then reuses one layer for both.
RUN mkdir -p /etc/postgresql-common/createcluster.d \
 && echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.d/cams.conf \
 && printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 0755 /usr/sbin/policy-rc.d \
 && apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql-15 \
 && rm -rf /var/lib/apt/lists/* /usr/sbin/policy-rc.d

RUN install -d -o postgres -g postgres -m 0700 /var/lib/postgresql/data \
 && install -d -o postgres -g postgres -m 2775 /run/postgresql

COPY postgres-entrypoint.sh /usr/local/bin/cams-postgres-entrypoint
ENV PATH=/usr/lib/postgresql/15/bin:$PATH \
    PGDATA=/var/lib/postgresql/data
USER postgres
# Fast shutdown: SIGTERM ("smart") would wait for runserver's persistent connections to close.
STOPSIGNAL SIGINT
EXPOSE 5432
ENTRYPOINT ["cams-postgres-entrypoint"]
