#!/usr/bin/env bash
# The web client's browser tests (tests/browser/flows.mjs): headless Chromium from Debian's
# `chromium` package and playwright-core from npm (into .local/browser), both installed when
# missing, against a timeline-local of its own on DynamoDB Local and Redis (started when they
# are not running, as `make dev` does; stopped again if started here). Tables and keys get a
# prefix of their own, so it runs beside anything else on those services.
#
#   scripts/browser-tests.sh              (make browser-tests; make test runs it too)
#   SAVE_SHOTS=1 scripts/browser-tests.sh the same, saving the sign-in, profile and timeline
#                                         pages into docs/screenshots/ (the README's picture)
# Knobs: BINARY (a built timeline-local; default: cargo build it), BROWSER_HTTP_PORT (3600),
# SHOTS_DIR (.local/browser/shots; failures go to its failures/ folder).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/services/common.sh
source "$ROOT/scripts/services/common.sh"
# shellcheck source=scripts/services/install.sh
source "$ROOT/scripts/services/install.sh"

PLAYWRIGHT_PACKAGE="playwright-core@1.65.1"
DEPS_DIR="$LOCAL_DIR/browser"
PORT="${BROWSER_HTTP_PORT:-3600}"
SHOTS_DIR="${SHOTS_DIR:-$([[ ${SAVE_SHOTS:-0} == 1 ]] && echo "$ROOT/docs/screenshots" || echo "$DEPS_DIR/shots")}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/timeline-browser.XXXXXX")"
RECORD="$WORK/services"

log() { printf '[browser] %s\n' "$*" >&2; }

cleanup() {
  [[ -z ${SERVER_PID:-} ]] || kill "$SERVER_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  if [[ -s $RECORD ]]; then
    # shellcheck disable=SC2046 # one service per word
    "$ROOT/scripts/services.sh" down $(cat "$RECORD") || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

install_browser() {
  mkdir -p "$LOG_DIR"
  ensure_commands chromium:chromium node:nodejs npm:npm curl:curl
  [[ -f $DEPS_DIR/node_modules/playwright-core/package.json ]] && return 0
  log "installing $PLAYWRIGHT_PACKAGE into ${DEPS_DIR#"$ROOT"/} (once; it drives the system Chromium, no browser download)"
  mkdir -p "$DEPS_DIR"
  [[ -f $DEPS_DIR/package.json ]] || echo '{"name":"timeline-browser-tests","private":true}' >"$DEPS_DIR/package.json"
  (cd "$DEPS_DIR" && npm install --no-audit --no-fund --ignore-scripts --loglevel=error "$PLAYWRIGHT_PACKAGE" >&2) ||
    die "npm install $PLAYWRIGHT_PACKAGE failed"
}

start_server() {
  local binary="${BINARY:-}"
  if [[ -z $binary ]]; then
    cargo build -q --bin timeline-local
    binary="$ROOT/target/debug/timeline-local"
  fi
  # shellcheck source=scripts/local-env.sh
  source "$ROOT/scripts/local-env.sh"
  TIMELINE_TABLE_PREFIX="browser-$$-" TIMELINE_HTTP_ADDR="127.0.0.1:$PORT" TIMELINE_POST_LIMIT=off \
    TIMELINE_METRICS_ADDR=off TIMELINE_CHECKPOINT_DIR="$WORK/checkpoints" RUST_LOG=warn \
    "$binary" serve >"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  local waited=0
  until curl -fsS "http://127.0.0.1:$PORT/health" >/dev/null 2>&1; do
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; die "timeline-local did not start"; }
    ((waited++ < 300)) || die "timeline-local did not answer on port $PORT within 30 s"
    sleep 0.1
  done
}

install_browser
"$ROOT/scripts/services.sh" up --no-cluster --record "$RECORD"
start_server
mkdir -p "$SHOTS_DIR"
log "running tests/browser/flows.mjs against http://127.0.0.1:$PORT (screenshots: ${SHOTS_DIR#"$ROOT"/})"
BASE_URL="http://127.0.0.1:$PORT" CHROMIUM="$(command -v chromium)" BROWSER_DEPS="$DEPS_DIR" SHOTS_DIR="$SHOTS_DIR" \
  node "$ROOT/tests/browser/flows.mjs" || {
  log "server log tail:"
  tail -n 20 "$WORK/server.log" >&2
  exit 1
}
