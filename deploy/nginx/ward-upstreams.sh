#!/usr/bin/env bash
# ward-upstreams.sh: the active health check that open-source nginx lacks (its `health_check`
# directive is NGINX Plus only). Installed as /usr/local/sbin/ward-upstreams; run every few
# seconds by ward-upstreams.timer (deploy/systemd), and by hand for rolling restarts.
#
#   ward-upstreams check          GET /health of every replica; write the servers file with the
#                                 replicas that do not answer 200 (loading: 503; stopping; dead)
#                                 or that are drained marked `down`; reload nginx if it changed
#   ward-upstreams drain ADDR     take ADDR (host:port) out of nginx now, until undrain: new
#                                 requests go elsewhere, requests under way finish (a reload lets
#                                 the old nginx workers finish their connections)
#   ward-upstreams undrain ADDR   put it back (once its /health answers 200)
#   ward-upstreams status         each replica: up, down (health) or drained
#
# Settings (environment, or /etc/ward/ward.env): WARD_REPLICAS "127.0.0.1:8081 127.0.0.1:8082";
# WARD_UPSTREAMS_FILE (/etc/nginx/ward-upstreams.conf); WARD_UPSTREAMS_STATE (a directory for the
# drain marks, /run/ward-upstreams); WARD_SERVER_PARAMS ("max_fails=2 fail_timeout=10s");
# WARD_NGINX_RELOAD (the command that checks and reloads nginx: "nginx -t -q && systemctl reload
# nginx"); WARD_HEALTH_TIMEOUT (seconds, 2).
#
# If no replica is healthy, every replica that is not drained is written as up: nginx's passive
# checks then decide, and the first replica to recover gets requests at once.
set -euo pipefail

env_file=${WARD_ENV_FILE:-/etc/ward/ward.env}
if [ -z "${WARD_REPLICAS:-}" ] && [ -r "$env_file" ]; then
  # only the settings this script reads, not the whole file (it is systemd's EnvironmentFile)
  while IFS='=' read -r k v; do
    case "$k" in
      WARD_REPLICAS|WARD_UPSTREAMS_FILE|WARD_UPSTREAMS_STATE|WARD_SERVER_PARAMS|WARD_NGINX_RELOAD|WARD_HEALTH_TIMEOUT)
        v=${v%\"}; v=${v#\"}; export "$k=$v" ;;
    esac
  done < <(grep -E '^[A-Z_]+=' "$env_file")
fi
replicas=${WARD_REPLICAS:?"set WARD_REPLICAS (host:port ...), e.g. in $env_file"}
file=${WARD_UPSTREAMS_FILE:-/etc/nginx/ward-upstreams.conf}
state=${WARD_UPSTREAMS_STATE:-/run/ward-upstreams}
params=${WARD_SERVER_PARAMS:-max_fails=2 fail_timeout=10s}
reload=${WARD_NGINX_RELOAD:-nginx -t -q && systemctl reload nginx}
timeout=${WARD_HEALTH_TIMEOUT:-2}

healthy() { [ "$(curl -s -o /dev/null -m "$timeout" -w '%{http_code}' "http://$1/health" || true)" = 200 ]; }
drained() { [ -e "$state/drain-$1" ]; }

known() {
  local a
  for a in $replicas; do [ "$a" = "$1" ] && return 0; done
  echo "ward-upstreams: $1 is not in WARD_REPLICAS ($replicas)" >&2
  exit 2
}

# write the servers file from the replicas' state; reload nginx if it changed
update() {
  local a up=() down=() any=0 tmp
  for a in $replicas; do
    if drained "$a"; then down+=("$a"); continue; fi
    if healthy "$a"; then up+=("$a"); any=1; else down+=("$a"); fi
  done
  if [ "$any" -eq 0 ]; then # nothing healthy: leave it to the passive checks
    up=(); down=()
    for a in $replicas; do if drained "$a"; then down+=("$a"); else up+=("$a"); fi; done
  fi
  tmp=$(mktemp "$file.XXXXXX")
  {
    echo "# written by ward-upstreams.sh: do not edit (WARD_REPLICAS in $env_file)"
    for a in $replicas; do
      local mark=""
      for d in "${down[@]+"${down[@]}"}"; do [ "$d" = "$a" ] && mark=" down"; done
      echo "server $a $params$mark;"
    done
  } >"$tmp"
  chmod 644 "$tmp"
  if [ -f "$file" ] && cmp -s "$tmp" "$file"; then rm -f "$tmp"; return 0; fi
  mv -f "$tmp" "$file"
  echo "ward-upstreams: up: ${up[*]:-none}; down: ${down[*]:-none}; reloading nginx" >&2
  sh -c "$reload"
}

cmd=${1:-check}
case "$cmd" in
  check) update ;;
  drain)
    [ $# -eq 2 ] || { echo "usage: ward-upstreams drain HOST:PORT" >&2; exit 2; }
    known "$2"; mkdir -p "$state"; touch "$state/drain-$2"; update ;;
  undrain)
    [ $# -eq 2 ] || { echo "usage: ward-upstreams undrain HOST:PORT" >&2; exit 2; }
    known "$2"; rm -f "$state/drain-$2"; update ;;
  status)
    for a in $replicas; do
      if drained "$a"; then echo "$a drained"; elif healthy "$a"; then echo "$a up"; else echo "$a down"; fi
    done ;;
  *) echo "usage: ward-upstreams [check | drain HOST:PORT | undrain HOST:PORT | status]" >&2; exit 2 ;;
esac
