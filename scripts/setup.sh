#!/usr/bin/env bash
# Installs what the app and its tests need on a fresh Debian machine: system packages (when root),
# the Python virtual environment and the front-end packages from the lockfile. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
WITH_TEST=${1:-}

apt_packages=(poppler-utils)
[ "$WITH_TEST" = "test" ] && apt_packages+=(softhsm2 chromium nginx-light)
missing=()
for pkg in "${apt_packages[@]}"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "Please install: ${missing[*]} (apt-get)" >&2
  fi
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
extras=""
[ "$WITH_TEST" = "test" ] && extras="[test]"
stamp=".venv/.installed$extras"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ requirements.lock -nt "$stamp" ]; then
  .venv/bin/pip install -q --upgrade pip >/dev/null
  .venv/bin/pip install -q -c requirements.lock -e ".$extras"
  touch "$stamp"
fi
if [ -f package-lock.json ] && { [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; }; then
  npm ci --no-audit --no-fund --silent
fi
# the single sign-on tests' OpenID provider (node's oidc-provider), never shipped with the app
sso_provider=tests/identity/oidc_provider
if [ "$WITH_TEST" = "test" ] && { [ ! -d "$sso_provider/node_modules" ] \
    || [ "$sso_provider/package-lock.json" -nt "$sso_provider/node_modules" ]; }; then
  (cd "$sso_provider" && npm ci --no-audit --no-fund --silent)
fi
.venv/bin/python scripts/update_translations.py >/dev/null
