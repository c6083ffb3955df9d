#!/usr/bin/env bash
# Starts the server for the end-to-end tests (Playwright's webServer) on a
# fresh database. Playwright starts its webServer before the global setup,
# so the database is reset here, where nothing uses it yet. inboxq creates
# only its default database; a chosen URL must exist, hence CREATE DATABASE.
set -euo pipefail
: "${E2E_DB:?}" "${DATABASE_URL:?}"
psql -X -q -h 127.0.0.1 -p 5432 -d postgres \
	-c "DROP DATABASE IF EXISTS ${E2E_DB} WITH (FORCE)" \
	-c "CREATE DATABASE ${E2E_DB}"
exec ./bin/inboxq serve
