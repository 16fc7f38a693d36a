#!/usr/bin/env bash
# Runs as postgres. First start on an empty $PGDATA: initdb, then the role POSTGRES_USER (password
# POSTGRES_PASSWORD) owning the database POSTGRES_DB. Then the server in the foreground, listening on all
# addresses (the compose network; the port is not published). Extra arguments go to postgres (-c name=value).
set -euo pipefail

: "${PGDATA:?}" "${POSTGRES_USER:?}" "${POSTGRES_PASSWORD:?}" "${POSTGRES_DB:?}"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  # A half-initialised cluster would be taken as ready on the next start: empty the volume on failure.
  trap 'find "$PGDATA" -mindepth 1 -delete' ERR
  echo "[postgres] initialising $PGDATA (database $POSTGRES_DB, role $POSTGRES_USER)"
  initdb --pgdata="$PGDATA" --username=postgres --encoding=UTF8 --locale=C.UTF-8 \
    --auth-local=peer --auth-host=scram-sha-256 >/dev/null
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  # Socket only while initialising, so the TCP healthcheck passes only once the real server is up.
  pg_ctl --pgdata="$PGDATA" --options="-c listen_addresses=''" --wait --silent start
  psql --no-psqlrc --quiet --set=ON_ERROR_STOP=1 --dbname=postgres \
    --set=role="$POSTGRES_USER" --set=password="$POSTGRES_PASSWORD" --set=db="$POSTGRES_DB" <<'SQL'
CREATE ROLE :"role" LOGIN PASSWORD :'password';
CREATE DATABASE :"db" OWNER :"role";
SQL
  pg_ctl --pgdata="$PGDATA" --mode=fast --wait --silent stop
  trap - ERR
fi

exec postgres -D "$PGDATA" -c listen_addresses='*' "$@"
