#!/usr/bin/env bash
# ensure-postgres.sh: make sure a PostgreSQL server accepts connections on
# 127.0.0.1:5432 for user postgres without a password (trust), as `make dev`,
# `make test` and CI expect. Idempotent; silent when the server is already up,
# one line when it had to start or install one, a clear message on failure.
#
# Order: already running -> start an existing Debian cluster on the port ->
# apt-get install postgresql and create/start a cluster. Needs root (or sudo)
# only for the last two steps.
#
# ENSURE_PG_PORT overrides the port (used to test this script on a scratch
# cluster without touching the one on 5432).
set -euo pipefail

PORT="${ENSURE_PG_PORT:-5432}"
HOST=127.0.0.1
WAIT_SECONDS=30

say() { echo "ensure-postgres: $*" >&2; }
die() { say "ERROR: $*"; exit 1; }

ready() { pg_isready -q -h "$HOST" -p "$PORT" >/dev/null 2>&1; }

if command -v pg_isready >/dev/null 2>&1 && ready; then
	exit 0
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null 2>&1 || die "PostgreSQL is not running on $HOST:$PORT and starting it needs root (no sudo found)"
	SUDO=(sudo -n)
fi

# find_cluster prints "VERSION NAME" of the Debian cluster configured for PORT.
find_cluster() {
	command -v pg_lsclusters >/dev/null 2>&1 || return 0
	pg_lsclusters -h 2>/dev/null | awk -v port="$PORT" '$3 == port { print $1, $2; exit }'
}

# trust_postgres lets user postgres in over loopback TCP without a password,
# ahead of any other rule; safe to run again.
trust_postgres() {
	local hba="/etc/postgresql/$1/$2/pg_hba.conf"
	[ -f "$hba" ] || die "no $hba for cluster $1/$2"
	if ! "${SUDO[@]}" grep -q '^# aiadmin: trust local TCP for postgres' "$hba"; then
		"${SUDO[@]}" sed -i '1i # aiadmin: trust local TCP for postgres\nhost all postgres 127.0.0.1/32 trust\nhost all postgres ::1/128 trust' "$hba"
		reload=1
	fi
}

wait_ready() {
	local i
	for ((i = 0; i < WAIT_SECONDS * 2; i++)); do
		ready && return 0
		sleep 0.5
	done
	return 1
}

# fail_with_log VERSION NAME MESSAGE prints MESSAGE and the cluster log's tail.
fail_with_log() {
	local log="/var/log/postgresql/postgresql-$1-$2.log"
	say "ERROR: $3"
	if [ -r "$log" ]; then
		say "last lines of $log:"
		tail -n 20 "$log" >&2
	fi
	exit 1
}

reload=0
cluster="$(find_cluster)"
action="started"

if [ -z "$cluster" ]; then
	if ! command -v pg_createcluster >/dev/null 2>&1; then
		command -v apt-get >/dev/null 2>&1 || die "PostgreSQL is not installed and apt-get is not available; install PostgreSQL 15+ and run it on $HOST:$PORT"
		log="$(mktemp)"
		if ! { "${SUDO[@]}" apt-get update && "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql; } >"$log" 2>&1; then
			say "ERROR: apt-get install postgresql failed:"
			tail -n 20 "$log" >&2
			rm -f "$log"
			exit 1
		fi
		rm -f "$log"
		action="installed and started"
		# The package usually creates VERSION/main on 5432 itself.
		cluster="$(find_cluster)"
	fi
	if [ -z "$cluster" ]; then
		version="$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -n 1)"
		[ -n "$version" ] || die "no PostgreSQL server binaries under /usr/lib/postgresql"
		name=main
		[ -d "/etc/postgresql/$version/main" ] && name=aiadmin
		"${SUDO[@]}" pg_createcluster --port "$PORT" "$version" "$name" >/dev/null ||
			die "pg_createcluster $version $name on port $PORT failed"
		cluster="$version $name"
		[ "$action" = started ] && action="created and started"
	fi
fi

read -r version name <<<"$cluster"
trust_postgres "$version" "$name"

status="$(pg_lsclusters -h | awk -v v="$version" -v n="$name" '$1 == v && $2 == n { print $4 }')"
if [ "$status" = online ] || [[ "$status" == online,* ]]; then
	# Up but not answering on TCP yet (starting), or hba just changed.
	if [ "$reload" = 1 ]; then
		"${SUDO[@]}" pg_ctlcluster --skip-systemctl-redirect "$version" "$name" reload >/dev/null 2>&1 || true
	fi
else
	"${SUDO[@]}" pg_ctlcluster --skip-systemctl-redirect "$version" "$name" start >/dev/null 2>&1 ||
		fail_with_log "$version" "$name" "pg_ctlcluster $version $name start failed"
fi

wait_ready || fail_with_log "$version" "$name" \
	"PostgreSQL $version/$name did not accept connections on $HOST:$PORT within ${WAIT_SECONDS}s"
say "$action PostgreSQL $version/$name on $HOST:$PORT"
