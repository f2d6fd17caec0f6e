#!/usr/bin/env bash
# deps.sh: install what ward needs to build and test, from Debian packages (skips what is there).
set -euo pipefail
pkgs=(gcc make cmake clang libclang-rt-dev libcjson-dev libpcre2-dev libutf8proc-dev libmicrohttpd-dev libsqlite3-dev libsodium-dev libpq-dev curl
      chromium fonts-noto-cjk postgresql postgresql-client nginx)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# the real-client tests' npm packages (openai, LangChain.js, ajv), pinned by package-lock.json
clients="$(dirname "$0")/../tests/clients"
if [ ! -f "$clients/node_modules/.package-lock.json" ] ||
   [ "$clients/package-lock.json" -nt "$clients/node_modules/.package-lock.json" ]; then
  echo "installing the client tests' npm packages"
  (cd "$clients" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
# the workbench's web app (esbuild, Chart.js), bundled into web/dist when its sources changed
web="$(dirname "$0")/../web"
if [ ! -f "$web/node_modules/.package-lock.json" ] ||
   [ "$web/package-lock.json" -nt "$web/node_modules/.package-lock.json" ]; then
  echo "installing the web app's npm packages"
  (cd "$web" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
if [ ! -f "$web/dist/assets/app.js" ] || [ -n "$(find "$web/src" "$web/build.mjs" -newer "$web/dist/assets/app.js" 2>/dev/null)" ]; then
  (cd "$web" && node build.mjs >/dev/null)
fi
