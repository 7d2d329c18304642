#!/usr/bin/env bash
# Runs a command with TEMPORAL_ADDRESS pointing at a Temporal server: the one already set and
# reachable, or a fresh in-memory dev server (bin/temporal-dev, headless, free port) started
# here and stopped afterwards, its profiles (net/http/pprof) served on loopback for benchmarks
# (TEMPORAL_DEV_PPROF, with TEMPORAL_DEV_PID).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
reachable() { (exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null; }
if [ -n "${TEMPORAL_ADDRESS:-}" ] && reachable "$TEMPORAL_ADDRESS"; then
  exec "$@"
fi
tmp=$(mktemp -d)
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo "$1"; }
port=$(freeport 17233) pprof=$(freeport 17234)
"$root/bin/temporal-dev" -config "$root/temporal-dev.yaml" -db :memory: -port "$port" -headless \
  -pprof-port "$pprof" -ready-file "$tmp/ready" >"$tmp/temporal.log" 2>&1 &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
for _ in $(seq 1 300); do
  [ -s "$tmp/ready" ] && break
  if ! kill -0 "$pid" 2>/dev/null; then echo "temporal dev server failed:"; cat "$tmp/temporal.log"; exit 1; fi
  sleep 0.1
done
[ -s "$tmp/ready" ] || { echo "temporal dev server did not start"; cat "$tmp/temporal.log"; exit 1; }
export TEMPORAL_ADDRESS=$(cat "$tmp/ready") TEMPORAL_DEV_PID=$pid TEMPORAL_DEV_PPROF=127.0.0.1:$pprof
echo "Temporal dev server for tests at $TEMPORAL_ADDRESS"
"$@"
