#!/usr/bin/env bash
# Make sure what the test suite starts by itself is installed: PostgreSQL server binaries,
# and Chromium for the browser tests (Playwright drives Debian's build; it never downloads
# one of its own). The tests start their own throwaway servers on 127.0.0.1; nothing is
# left running.
set -euo pipefail

CHROMIUM=/usr/bin/chromium
apt_updated=""

can_apt_install() {
  [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null
}

apt_install() {
  if [ -z "$apt_updated" ]; then
    apt-get update -qq
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

have_postgres() {
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null
}

if ! have_postgres; then
  if can_apt_install; then
    echo "installing PostgreSQL server binaries for the tests..."
    apt_install postgresql
  else
    echo "PostgreSQL server binaries are missing: install the 'postgresql' package" >&2
    [ -n "${CI:-}" ] && exit 1
  fi
fi

if [ ! -x "$CHROMIUM" ]; then
  if can_apt_install; then
    echo "installing Chromium for the browser tests..."
    apt_install chromium
  else
    # The browser tests skip locally with this reason, and fail under CI.
    echo "Chromium is missing: install the 'chromium' package for the browser tests" >&2
    [ -n "${CI:-}" ] && exit 1
  fi
fi
exit 0
