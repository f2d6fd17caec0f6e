#!/usr/bin/env bash
# deps.sh: install what ward needs to build and test, from Debian packages (skips what is there).
set -euo pipefail
pkgs=(gcc make cmake clang libclang-rt-dev libcjson-dev libpcre2-dev libutf8proc-dev libmicrohttpd-dev)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
