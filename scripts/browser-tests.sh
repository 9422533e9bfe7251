#!/usr/bin/env bash
# The web client's browser tests (tests/browser/flows.mjs): headless Chromium from Debian's
# `chromium` package and playwright-core from npm (into .local/browser), both installed when
# missing, against two timeline-local servers of its own on DynamoDB Local and Redis (started
# when they are not running, as `make dev` does; stopped again if started here): one serves the
# client as `make dev` does, the other a copy configured as deployed (Cognito sign-in, against
# a stand-in hosted UI). Tables and keys get prefixes of their own, so it runs beside anything
# else on those services.
#
#   scripts/browser-tests.sh              (make browser-tests; make test runs it too)
#   SAVE_SHOTS=1 scripts/browser-tests.sh the same, saving the sign-in, profile and timeline
#                                         pages into docs/screenshots/ (the README's picture)
# Knobs: BINARY (a built timeline-local; default: cargo build it), BROWSER_HTTP_PORT (3600; the
# next two ports serve the Cognito-mode client and the stand-in hosted UI),
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
SERVER_PIDS=()

log() { printf '[browser] %s\n' "$*" >&2; }

cleanup() {
  local pid
  for pid in "${SERVER_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
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

# start_server PORT PREFIX WEB_DIR: a timeline-local on the tables and keys of PREFIX, serving
# the client from WEB_DIR; waits until it answers.
start_server() {
  local port="$1" prefix="$2" web_dir="$3"
  TIMELINE_TABLE_PREFIX="$prefix" TIMELINE_HTTP_ADDR="127.0.0.1:$port" TIMELINE_POST_LIMIT=off \
    TIMELINE_METRICS_ADDR=off TIMELINE_CHECKPOINT_DIR="$WORK/checkpoints-$port" TIMELINE_WEB_DIR="$web_dir" \
    RUST_LOG=warn "$BINARY" serve >"$WORK/server-$port.log" 2>&1 &
  SERVER_PIDS+=("$!")
  wait_until "timeline-local on port $port" "$!" "$WORK/server-$port.log" \
    curl -fsS -o /dev/null "http://127.0.0.1:$port/health"
}

# The client as deployed (Cognito mode), signing in at a stand-in hosted UI that flows.mjs runs
# on COGNITO_PORT: a copy of web/ with a config.json of its own, on a second server.
cognito_web_dir() {
  local dir="$WORK/web-cognito"
  mkdir -p "$dir"
  cp "$ROOT"/web/*.html "$ROOT"/web/*.js "$ROOT"/web/*.css "$dir/"
  printf '{"mode":"cognito","api_base":"","cognito":{"domain":"http://127.0.0.1:%s","client_id":"browser-tests","redirect_uri":"http://127.0.0.1:%s/app/"}}\n' \
    "$COGNITO_PORT" "$COGNITO_APP_PORT" >"$dir/config.json"
  echo "$dir"
}

install_browser
"$ROOT/scripts/services.sh" up --no-cluster --record "$RECORD"
if [[ -z ${BINARY:-} ]]; then
  cargo build -q --bin timeline-local
  BINARY="$ROOT/target/debug/timeline-local"
fi
# shellcheck source=scripts/local-env.sh
source "$ROOT/scripts/local-env.sh"
COGNITO_APP_PORT=$((PORT + 1)) COGNITO_PORT=$((PORT + 2))
SERVER_PIDS=()
start_server "$PORT" "browser-$$-" "$ROOT/web"
start_server "$COGNITO_APP_PORT" "browser-$$-c-" "$(cognito_web_dir)"
mkdir -p "$SHOTS_DIR"
log "running tests/browser/flows.mjs against http://127.0.0.1:$PORT and :$COGNITO_APP_PORT (screenshots: ${SHOTS_DIR#"$ROOT"/})"
BASE_URL="http://127.0.0.1:$PORT" COGNITO_APP_URL="http://127.0.0.1:$COGNITO_APP_PORT" COGNITO_PORT="$COGNITO_PORT" \
  JWT_SECRET="${TIMELINE_JWT_SECRET:-timeline-local-dev-secret}" CHROMIUM="$(command -v chromium)" \
  BROWSER_DEPS="$DEPS_DIR" SHOTS_DIR="$SHOTS_DIR" node "$ROOT/tests/browser/flows.mjs" || {
  for log_file in "$WORK"/server-*.log; do
    log "tail of $log_file:"
    tail -n 20 "$log_file" >&2
  done
  exit 1
}
