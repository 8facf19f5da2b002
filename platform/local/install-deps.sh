#!/usr/bin/env bash
# Installs the Debian packages the local platform runs (make deps). Idempotent:
# only missing packages are installed.
set -euo pipefail
pkgs=(postgresql redis-server clickhouse-server clickhouse-client zookeeper prometheus haproxy nginx tmux)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "deps: all Debian packages present"
else
  echo "deps: installing ${missing[*]}"
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# The packages start system services we do not use; the platform runs its own
# instances on free ports. Stop them so they hold no ports or memory.
if command -v systemctl >/dev/null && systemctl is-system-running >/dev/null 2>&1; then
  for s in postgresql redis-server clickhouse-server zookeeper prometheus haproxy nginx; do
    systemctl stop "$s" >/dev/null 2>&1 || true
  done
fi
