#!/usr/bin/env bash
# Starts the server for the end-to-end tests (Playwright's webServer) on a
# fresh database. Playwright starts its webServer before the global setup,
# so the database is reset here, where nothing uses it yet. inboxq creates
# only its default database; a chosen URL must exist, hence CREATE DATABASE.
#
# The server runs in demo mode (no Google OAuth client): a built-in fake
# Gmail serves a generated mailbox, already connected for user `demo`, whose
# token the server prints on stdout. That output is teed to E2E_SERVER_LOG,
# where the global setup reads the token. 1500 messages keep a full sync
# observable (a few seconds, progress every page of 100) yet short.
set -euo pipefail
: "${E2E_DB:?}" "${DATABASE_URL:?}" "${E2E_SERVER_LOG:?}" "${INBOXQ_DATA_DIR:?}"
unset INBOXQ_GOOGLE_CLIENT_ID INBOXQ_GOOGLE_CLIENT_SECRET
export INBOXQ_DEMO_MESSAGES="${E2E_DEMO_MESSAGES:-1500}"
psql -X -q -h 127.0.0.1 -p 5432 -d postgres \
	-c "DROP DATABASE IF EXISTS ${E2E_DB} WITH (FORCE)" \
	-c "CREATE DATABASE ${E2E_DB}"
mkdir -p "$(dirname "$E2E_SERVER_LOG")" "$INBOXQ_DATA_DIR"
: >"$E2E_SERVER_LOG"
exec ./bin/inboxq serve > >(tee "$E2E_SERVER_LOG")
