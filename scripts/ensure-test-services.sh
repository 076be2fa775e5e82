#!/usr/bin/env bash
# Make sure what the test suite starts by itself is installed: PostgreSQL server binaries.
# The tests start their own throwaway server on 127.0.0.1; nothing is left running.
set -euo pipefail

have_postgres() {
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null
}

if ! have_postgres; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "installing PostgreSQL server binaries for the tests..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "PostgreSQL server binaries are missing: install the 'postgresql' package" >&2
    [ -n "${CI:-}" ] && exit 1
  fi
fi
