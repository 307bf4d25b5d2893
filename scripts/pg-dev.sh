#!/usr/bin/env bash
# A throwaway PostgreSQL server by hand, started like the tests' (test/support/postgres.ts).
#   scripts/pg-dev.sh           start one; prints the export line (stdout) and how to stop it
#   scripts/pg-dev.sh stop DIR  stop it and remove DIR
# eval "$(scripts/pg-dev.sh)" sets STATESYNC_DB in the current shell.
set -euo pipefail
self=$(cd "$(dirname "$0")" && pwd)/pg-dev.sh
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1) ||
  { echo "no PostgreSQL under /usr/lib/postgresql: install Debian's postgresql package" >&2; exit 1; }
# initdb refuses root: as root, the server programs run as the postgres OS user.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

if [ "${1:-}" = stop ]; then
  dir=${2:?usage: $0 stop DIR}
  (cd "$dir" && as_pg "$bin/pg_ctl" -D "$dir/data" -m immediate stop) >&2
  rm -rf "$dir"
  exit
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/statesync-pg-XXXXXX")
if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; fi
cd "$dir"
port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
as_pg "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1 ||
  { cat "$dir/initdb.log" >&2; rm -rf "$dir"; exit 1; }
as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $port -c 'unix_socket_directories=$dir' -c fsync=off -c max_connections=200" start >&2 ||
  { tail -n 20 "$dir/log" >&2; rm -rf "$dir"; exit 1; }
echo "export STATESYNC_DB=postgres://postgres@127.0.0.1:$port/postgres"
echo "# stop it: bash $self stop $dir"
