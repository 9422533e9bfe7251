#!/usr/bin/env bash
# `make dev`: the local stack in the foreground.
#   1. scripts/services.sh up --no-cluster  (DynamoDB Local + Redis; the cluster is only for tests)
#   2. cargo run --profile local --bin timeline-local -- serve [ARGS...]
#      (the `local` profile: optimised dependencies, a short rebuild; see Cargo.toml)
#      (creates the tables, serves the API on TIMELINE_HTTP_ADDR, runs the stream poller, and
#      prints the URL and how to mint a token)
# Ctrl-C (or SIGTERM) stops the server and the services this script started itself; services
# that were already running when it began (`make services`, another terminal) are left running.
#
# Data: DynamoDB Local keeps its tables in .local/ddb-data/<port> across restarts unless
# TIMELINE_DDB_IN_MEMORY=1. Extra arguments are passed to `timeline-local serve`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# shellcheck source=scripts/local-env.sh
source "$ROOT/scripts/local-env.sh"

STARTED_RECORD="$(mktemp "${TMPDIR:-/tmp}/timeline-dev-services.XXXXXX")"
SERVER_PID=""

log() { printf '[dev] %s\n' "$*" >&2; }

# The server runs in the background, so this script can wait for it and still react to
# signals. SIGINT first (timeline-local shuts down cleanly on Ctrl-C), then SIGTERM, then KILL.
# `cargo run` replaces itself with the binary on Unix; the direct children are signalled too in
# case it ever stays around as a parent.
stop_server() {
  [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null || return 0
  log "stopping the server (pid $SERVER_PID)"
  local signal i
  for signal in INT TERM KILL; do
    pkill -"$signal" -P "$SERVER_PID" 2>/dev/null || true
    kill -"$signal" "$SERVER_PID" 2>/dev/null || break
    for ((i = 0; i < 20; i++)); do
      kill -0 "$SERVER_PID" 2>/dev/null || break 2
      sleep 0.25
    done
  done
  wait "$SERVER_PID" 2>/dev/null || true
}

# Only what this run started (services.sh up --record wrote the names as it went, so a
# half-finished start-up is cleaned up too).
stop_our_services() {
  local started=()
  mapfile -t started <"$STARTED_RECORD"
  if ((${#started[@]} > 0)); then
    log "stopping services started by this run: ${started[*]}"
    "$ROOT/scripts/services.sh" down "${started[@]}" || log "services.sh down failed; see scripts/services.sh status"
  fi
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_server
  stop_our_services
  rm -f "$STARTED_RECORD"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

command -v cargo >/dev/null || {
  log "cargo is not on PATH: install the Rust toolchain (rustup) first"
  exit 1
}

"$ROOT/scripts/services.sh" up --no-cluster --record "$STARTED_RECORD"

# Build in the foreground first: a Ctrl-C during a long first build then stops cargo at once.
log "building timeline-local, optimised (profile local; the first build takes a few minutes)"
cargo build --profile local --bin timeline-local

also_stops=""
if [[ -s $STARTED_RECORD ]]; then also_stops=" and $(paste -sd' ' "$STARTED_RECORD")"; fi
log "starting the server; Ctrl-C stops it$also_stops"
cargo run -q --profile local --bin timeline-local -- serve "$@" &
SERVER_PID=$!
# Returns the server's exit status (set -e then exits through cleanup), or >128 when a signal
# arrives, whose trap exits through cleanup as well.
wait "$SERVER_PID"
