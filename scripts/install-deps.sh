#!/usr/bin/env bash
# Installs every Debian package that building, testing and benchmarking causeway needs.
# Idempotent: when everything is present it only checks and exits 0 without touching apt.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libuv1-dev node-llhttp libfyaml-dev libc-ares-dev libre2-dev liburcu-dev libssl-dev
  libcmocka-dev
  python3-pytest nginx-light libnginx-mod-stream postgresql curl dnsmasq-base bind9-dnsutils
  wrk haproxy
  prometheus chromium
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
# Debian's nginx and postgresql packages try to start system services; tests start their own
# instances, so keep the package scripts from launching daemons.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | "${sudo_cmd[@]}" tee "$policy" >/dev/null
  "${sudo_cmd[@]}" chmod +x "$policy"
  created_policy=1
fi
cleanup() { [ "$created_policy" -eq 0 ] || "${sudo_cmd[@]}" rm -f "$policy"; }
trap cleanup EXIT

"${sudo_cmd[@]}" apt-get update -qq || true
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
