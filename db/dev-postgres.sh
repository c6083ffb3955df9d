#!/usr/bin/env bash
# Finds a PostgreSQL for `make run` and prints the DATABASE_URL to use.
# Prints nothing when the local server on 127.0.0.1:5432 answers (inboxq's
# default URL then applies). Otherwise, where initdb and pg_ctl are installed,
# it starts a private cluster under .data/postgres (port 54329, git-ignored)
# and prints its URL. Fails with one line saying what to do when neither works.
set -euo pipefail

host=127.0.0.1
port=${INBOXQ_PG_PROBE_PORT:-5432}
data=${INBOXQ_PG_DATA:-.data/postgres}
private_port=54329

answers() { pg_isready -q -h "$host" -p "$1" >/dev/null 2>&1; }

if answers "$port"; then
	exit 0
fi

bindir=""
for d in /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && bindir=$d; done
if [ -z "$bindir" ] && command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
	bindir=$(dirname "$(command -v initdb)")
fi
if [ -z "$bindir" ]; then
	echo "no PostgreSQL answers on $host:$port and initdb/pg_ctl are not installed: start PostgreSQL or set DATABASE_URL" >&2
	exit 1
fi

# PostgreSQL refuses to run as root; use the postgres account then.
as() { "$@"; }
if [ "$(id -u)" = 0 ]; then
	as() { runuser -u postgres -- "$@"; }
fi

mkdir -p "$data"
if [ "$(id -u)" = 0 ]; then chown -R postgres "$data"; fi
if [ ! -f "$data/PG_VERSION" ]; then
	as "$bindir/initdb" -D "$data" -A trust -U inboxq >"$data.initdb.log" 2>&1 ||
		{ echo "initdb failed; see $data.initdb.log" >&2; exit 1; }
fi
if ! answers "$private_port"; then
	as "$bindir/pg_ctl" -D "$data" -l "$data/server.log" -w \
		-o "-h $host -p $private_port -k /tmp" start >/dev/null ||
		{ echo "the private PostgreSQL did not start; see $data/server.log" >&2; exit 1; }
fi
# Create the database once; "already exists" is fine.
"$bindir/createdb" -h "$host" -p "$private_port" -U inboxq inboxq 2>/dev/null || true
echo "postgres://inboxq@$host:$private_port/inboxq?sslmode=disable"
