# lib.sh: what pg.sh and nginx.sh share (sourced): die with the script's name, and a free port.

die() { echo "$(basename "$0"): $*" >&2; exit 1; }

# a port of 127.0.0.1 that nothing listens on (a server's start is retried if it loses a race)
free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  die "no free port found"
}
