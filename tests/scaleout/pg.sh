#!/usr/bin/env bash
# pg.sh: a throw-away PostgreSQL cluster on loopback, for tests.
#
#   pg.sh start [DIR]   initdb into DIR (default: a new mktemp -d directory), start the server on a
#                       free port of 127.0.0.1 (its unix socket inside DIR, fsync on: the tests
#                       check durability), create the role and database "ward", and print the
#                       connection URI (postgresql://ward@127.0.0.1:PORT/ward) on stdout; DIR/uri
#                       holds it too. Nothing is left running if any step fails.
#   pg.sh stop DIR      stop that server and remove DIR.
#
# PostgreSQL refuses to run as root: run as root (CI on a fresh Debian machine), the server runs as
# the 'postgres' system user (Debian's postgresql package creates it) and DIR is given to it. Run
# as any other user, it runs as that user. Authentication is 'trust' on 127.0.0.1 and the socket
# only: a test cluster, never a pattern for a real one (docs/deploy.md has that).
# PG_BIN overrides where initdb, pg_ctl and postgres are (default: Debian's PostgreSQL 15, else
# the newest under /usr/lib/postgresql, else $PATH).
set -euo pipefail

. "$(dirname "$0")/lib.sh"

pg_bin() {
  if [ -n "${PG_BIN:-}" ]; then echo "$PG_BIN"; return; fi
  if [ -x /usr/lib/postgresql/15/bin/initdb ]; then echo /usr/lib/postgresql/15/bin; return; fi
  local newest
  newest=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$newest" ] && [ -x "$newest/initdb" ]; then echo "$newest"; return; fi
  dirname "$(command -v initdb || die "initdb not found: install postgresql (Debian package)")"
}

# as_owner CMD...: run CMD as the cluster's owner (postgres when we are root), from / so that
# the owner need not be able to read the caller's working directory.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    (cd / && runuser -u postgres -- "$@")
  else
    (cd / && "$@")
  fi
}

stop_cluster() { # DIR: stop the server if it runs (fast: disconnects clients), then remove DIR
  local dir=$1 bin pid
  bin=$(pg_bin)
  [ -f "$dir/.ward-pg" ] || die "$dir is not a cluster made by pg.sh (no .ward-pg marker): not touching it"
  if [ -f "$dir/data/postmaster.pid" ]; then
    pid=$(head -n 1 "$dir/data/postmaster.pid")
    if ! as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -t 20 -w stop >/dev/null 2>&1; then
      # pg_ctl could not stop it: end that postmaster (its backends exit when it is gone)
      if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
    fi
  fi
  rm -rf -- "$dir"
}

start_cluster() { # [DIR]
  local dir=${1:-} bin owner port uri started=0
  bin=$(pg_bin)
  [ -x "$bin/initdb" ] && [ -x "$bin/pg_ctl" ] || die "no initdb/pg_ctl in $bin"
  if [ -z "$dir" ]; then
    dir=$(mktemp -d "${TMPDIR:-/tmp}/ward-pg.XXXXXX")
  else
    mkdir -p "$dir"
    [ -z "$(ls -A "$dir")" ] || die "$dir is not empty"
  fi
  dir=$(cd "$dir" && pwd)
  touch "$dir/.ward-pg"
  # on any failure from here on: stop what was started and remove the directory
  CLEANUP_DIR=$dir
  trap 'rc=$?; trap - EXIT INT TERM; [ $rc -eq 0 ] || { stop_cluster "$CLEANUP_DIR" 2>/dev/null || rm -rf -- "$CLEANUP_DIR"; }; exit $rc' EXIT
  trap 'exit 130' INT TERM
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || die "running as root, but there is no 'postgres' user to run the server as"
    owner=postgres
    chown postgres: "$dir"
    chmod 700 "$dir"
    # the server's user must be able to reach DIR (a TMPDIR inside /root would not do)
    runuser -u postgres -- test -w "$dir" || die "the postgres user cannot write $dir (its parent directories must be searchable)"
  else
    owner=$(id -un)
  fi
  as_owner mkdir -p "$dir/sock"
  as_owner "$bin/initdb" -D "$dir/data" -U "$owner" --auth=trust --encoding=UTF8 --locale=C.UTF-8 \
    >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
  # settings: loopback only, the socket in DIR (not /run/postgresql), durable commits
  as_owner tee -a "$dir/data/postgresql.conf" >/dev/null <<EOF
# pg.sh
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir/sock'
fsync = on
synchronous_commit = on
full_page_writes = on
max_connections = 100
shared_buffers = 32MB
EOF
  as_owner tee "$dir/data/pg_hba.conf" >/dev/null <<EOF
# pg.sh: a throw-away test cluster: trust, and nothing but the socket and 127.0.0.1
local all all              trust
host  all all 127.0.0.1/32 trust
EOF
  for _ in 1 2 3 4 5; do
    port=$(free_port)
    if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/data/server.log" -o "-p $port" -t 30 -w start \
        >/dev/null 2>&1; then
      started=1; break
    fi
    grep -qi "address already in use\|could not bind\|could not create" "$dir/data/server.log" 2>/dev/null ||
      { tail -n 20 "$dir/data/server.log" >&2 || true; die "the server did not start"; }
  done
  [ "$started" -eq 1 ] || die "the server did not start (no free port?)"
  local psql=(as_owner "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir/sock" -p "$port" -U "$owner" -d postgres)
  [ -x "$bin/psql" ] || psql=(as_owner psql -X -q -v ON_ERROR_STOP=1 -h "$dir/sock" -p "$port" -U "$owner" -d postgres)
  if [ "$owner" = ward ]; then
    "${psql[@]}" -c "CREATE DATABASE ward OWNER ward" >/dev/null
  else
    "${psql[@]}" -c "CREATE ROLE ward LOGIN" -c "CREATE DATABASE ward OWNER ward" >/dev/null
  fi
  uri="postgresql://ward@127.0.0.1:$port/ward"
  echo "$uri" >"$dir/uri"
  echo "$port" >"$dir/port"
  trap - EXIT INT TERM
  echo "pg.sh: PostgreSQL on 127.0.0.1:$port (data in $dir; stop with: $0 stop $dir)" >&2
  echo "$uri"
}

case "${1:-}" in
  start) shift; start_cluster "${1:-}" ;;
  stop) [ $# -eq 2 ] || die "usage: pg.sh stop DIR"; stop_cluster "$2" ;;
  *) echo "usage: pg.sh start [DIR] | pg.sh stop DIR" >&2; exit 2 ;;
esac
