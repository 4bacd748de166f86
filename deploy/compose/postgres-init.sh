#!/bin/sh
# Runs once, on an empty data folder: the application's own role and database, as
# `flowmaestro up` makes them (cli/src/flowmaestro/cli/database.py). The services connect
# as this role, which is no superuser, cannot create roles or databases, replicate or
# bypass row security; the postgres superuser is for the operator only.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v app_password="$APP_DB_PASSWORD" <<'SQL'
CREATE ROLE flowmaestro LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'app_password';
CREATE DATABASE flowmaestro OWNER flowmaestro;
REVOKE ALL ON DATABASE flowmaestro FROM PUBLIC;
REVOKE CONNECT ON DATABASE postgres FROM PUBLIC;
REVOKE CONNECT ON DATABASE template1 FROM PUBLIC;
SQL
