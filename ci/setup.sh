#!/usr/bin/env bash
# `npm run setup`: everything the main job (`npm run load:light`) and the test suite (`npm test`) need,
# on a fresh machine. Works before node_modules exists (plain bash, the machine's npm).
# Idempotent: what is present is left alone, and a machine with everything prints one line.
#
#   system packages (Debian/Ubuntu, apt-get as root or through sudo):
#     chromium      the reports are checked in a real browser (playwright-core drives it)
#     redis-server  the shared cache tier (Redis) is tested against a real server
#     prometheus    for promtool, which checks the metric names and the shipped alert rules
#   npm dependencies  npm ci, when node_modules is missing or older than package-lock.json
#   tools             toxiproxy (network chaos) and actionlint (workflow lint) built from their Go
#                     modules, kubernetes-validate (deploy/k8s checks) from PyPI, into the tools cache
#
# On another system it prints the packages to install and exits 1. SETUP_SKIP_SYSTEM=1 skips the
# system packages (e.g. a machine where they come from elsewhere).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: %s\n' "$*" >&2; exit 1; }

declare -A why=(
  [chromium]='the report tests drive a real Chromium'
  [redis-server]='the shared cache tier is tested against a real Redis'
  [prometheus]='promtool checks metric names and alert rules'
  [python3-venv]='kubernetes-validate (the deploy/k8s checks) installs from PyPI into a venv'
)
# The command each package provides: a package counts as present when its command is on PATH.
declare -A provides=([chromium]=chromium [redis-server]=redis-server [prometheus]=promtool [python3-venv]='python3 venv')

chromium_present() {
  [ -n "${CHROMIUM_PATH:-}" ] && [ -x "$CHROMIUM_PATH" ] && return 0
  command -v chromium >/dev/null 2>&1
}

venv_present() { python3 -c 'import ensurepip, venv' >/dev/null 2>&1; }

missing=()
for pkg in chromium redis-server prometheus python3-venv; do
  case "$pkg" in
    chromium) chromium_present && continue ;;
    python3-venv) venv_present && continue ;;
    *) command -v "${provides[$pkg]}" >/dev/null 2>&1 && continue ;;
  esac
  missing+=("$pkg")
done

if [ ${#missing[@]} -gt 0 ] && [ "${SETUP_SKIP_SYSTEM:-0}" != 1 ]; then
  os_id=$(. "${SETUP_OS_RELEASE:-/etc/os-release}" 2>/dev/null && printf '%s %s' "${ID:-}" "${ID_LIKE:-}")
  case " $os_id " in
    *' debian '* | *' ubuntu '*) ;;
    *)
      say "this system is not Debian or Ubuntu; install these packages yourself, then run npm run setup again:"
      for pkg in "${missing[@]}"; do say "  $pkg (${provides[$pkg]}): ${why[$pkg]}"; done
      say "(or point CHROMIUM_PATH at a Chromium or Chrome; SETUP_SKIP_SYSTEM=1 skips this step)"
      exit 1
      ;;
  esac
  if [ "$(id -u)" = 0 ]; then sudo=()
  elif command -v sudo >/dev/null 2>&1; then sudo=(sudo)
  else die "installing ${missing[*]} needs root: run npm run setup as root, or install sudo"
  fi
  for pkg in "${missing[@]}"; do say "installing $pkg: ${why[$pkg]}"; done
  export DEBIAN_FRONTEND=noninteractive
  log=$(mktemp)
  if ! { "${sudo[@]}" apt-get update -qq && "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
    tail -n 20 "$log" >&2
    die "apt-get install ${missing[*]} failed (the lines above)"
  fi
  rm -f "$log"
  for pkg in "${missing[@]}"; do
    if [ "$pkg" = python3-venv ]; then venv_present || die "python3-venv was installed but python3 -m venv does not work"
    else command -v "${provides[$pkg]}" >/dev/null 2>&1 || die "$pkg was installed but ${provides[$pkg]} is not on PATH"
    fi
  done
fi

# npm ci when node_modules is absent or older than the lock file (npm ci always starts from scratch).
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing the npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi

# Tools, cached outside the clone (~/.cache/llm-proxy-bench), so a second clone reuses them.
if [ -d /usr/local/go/bin ]; then PATH="$PATH:/usr/local/go/bin"; fi
tools=$(node_modules/.bin/node scenarios/engines/tools-setup.ts --check)
if [ -n "$tools" ]; then
  command -v go >/dev/null 2>&1 || die "building $tools needs Go >= 1.23 on PATH (https://go.dev/dl/)"
  command -v python3 >/dev/null 2>&1 || die "installing $tools needs python3 with venv"
  say "building $tools (toxiproxy for chaos runs, actionlint and kubernetes-validate for the tests)"
  node_modules/.bin/node scenarios/engines/tools-setup.ts
fi

# Node's compile cache for the proxy (proxy/src/node-flags.ts: its launchers all use it), filled
# before the first start: --help loads every module and exits.
NODE_COMPILE_CACHE=${NODE_COMPILE_CACHE-node_modules/.cache/node-compile-cache} \
  node_modules/.bin/node proxy/src/server.ts --help >/dev/null

say "ready: npm run load:light runs the main job, npm test the tests"
