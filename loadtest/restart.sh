#!/usr/bin/env bash
# How soon a new post shows after `timeline-local` restarts, with its stream checkpoints and
# without them (docs/benchmarks.md, "Restart"). End to end, as a user of `make dev` sees it:
#
#   1. a fresh in-memory DynamoDB Local and a Redis of its own (ports below), the server built
#      with PROFILE; ann and bob, bob follows ann;
#   2. ann posts HISTORY tweets over REST (16 at once); wait until bob's timeline shows the last;
#   3. Ctrl-C (SIGINT) the server: how long the graceful shutdown took, what it checkpointed;
#   4. start it again, ann posts once: ms from the 201 until bob's timeline shows the post;
#   5. stop it, delete the checkpoints, start it again, post once: the same figure when the
#      poller has to re-read the stream from TRIM_HORIZON (the HISTORY records first).
#
# Usage: loadtest/restart.sh [HISTORY]          (default 2000)
# Environment: PROFILE (default perf), DDB_PORT (8400), REDIS_PORT (6800), HTTP_PORT (3400).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
HISTORY="${1:-2000}"
[[ $HISTORY =~ ^[1-9][0-9]*$ ]] || { echo "restart.sh: HISTORY must be a positive number, not '$HISTORY'" >&2; exit 2; }
PROFILE="${PROFILE:-perf}"
DDB_PORT="${DDB_PORT:-8400}"
REDIS_PORT="${REDIS_PORT:-6800}"
HTTP_PORT="${HTTP_PORT:-3400}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/timeline-restart.XXXXXX")"

# shellcheck source=scripts/local-env.sh
source "$ROOT/scripts/local-env.sh"
export TIMELINE_DYNAMODB_ENDPOINT="http://127.0.0.1:$DDB_PORT"
export TIMELINE_REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
export TIMELINE_DDB_IN_MEMORY=1
export TIMELINE_TABLE_PREFIX="restart-"
export TIMELINE_POST_LIMIT=off
export TIMELINE_HTTP_ADDR="127.0.0.1:$HTTP_PORT"
export TIMELINE_CHECKPOINT_DIR="$WORK/checkpoints"
BASE="http://$TIMELINE_HTTP_ADDR"
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/$PROFILE/timeline-local"
SERVER_PID=""

log() { echo "[restart] $*" >&2; }
now_ms() { date +%s%3N; }

cleanup() {
  if [[ -n $SERVER_PID ]]; then kill -INT "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  local started=()
  [[ -f $WORK/started ]] && mapfile -t started <"$WORK/started"
  ((${#started[@]} == 0)) || "$ROOT/scripts/services.sh" down "${started[@]}" >/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

start_server() {
  "$BIN" serve >>"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  local i
  for ((i = 0; i < 120; i++)); do
    curl -fs --max-time 2 "$BASE/health" >/dev/null 2>&1 && return 0
    sleep 0.25
  done
  tail -n 20 "$WORK/server.log" >&2
  exit 1
}

# Ctrl-C the server and wait for it (not in a subshell: only this shell can wait for it);
# STOPPED_MS says how long it took to exit.
stop_server() {
  local started status=0
  started=$(now_ms)
  kill -INT "$SERVER_PID"
  wait "$SERVER_PID" || status=$?
  ((status == 0)) || log "the server exited with status $status"
  SERVER_PID=""
  STOPPED_MS=$(($(now_ms) - started))
}

# api METHOD TOKEN PATH [JSON]: the response body.
api() {
  curl -fsS --max-time 10 -X "$1" -H "authorization: Bearer $2" -H 'content-type: application/json' \
    ${4:+-d "$4"} "$BASE$3"
}

post() { api POST "$ANN_TOKEN" /tweets "{\"text\":\"$1\"}" | grep -o '"tweet_id":"[^"]*"' | cut -d'"' -f4; }

# Wait until bob's newest entry is tweet $1; prints ms since $2 (or "none" after 60 s).
visible_after() {
  local deadline=$(($(now_ms) + 60000))
  while (($(now_ms) < deadline)); do
    if api GET "$BOB_TOKEN" "/users/bob/timeline?limit=1" | grep -q "\"tweet_id\":\"$1\""; then
      echo $(($(now_ms) - $2))
      return 0
    fi
    sleep 0.01
  done
  echo none
}

# Post once and say how soon bob saw it.
one_post_visible() {
  local id posted
  posted=$(now_ms)
  id=$(post "after a restart")
  visible_after "$id" "$posted"
}

log "building timeline-local (profile $PROFILE)"
cargo build -q --profile "$PROFILE" --bin timeline-local
"$ROOT/scripts/services.sh" up --no-cluster --record "$WORK/started" >&2
ANN_TOKEN=$("$BIN" token ann)
BOB_TOKEN=$("$BIN" token bob)
start_server
api POST "$ANN_TOKEN" /users '{"username":"ann"}' >/dev/null
api POST "$BOB_TOKEN" /users '{"username":"bob"}' >/dev/null
api PUT "$BOB_TOKEN" /users/bob/following/ann >/dev/null

log "ann posts $HISTORY tweets"
export -f api post
export ANN_TOKEN BASE
seq "$HISTORY" | xargs -P 16 -I{} bash -c 'post "history {}" >/dev/null'
last=$(post "the last before the restart")
log "bob saw the last of them $(visible_after "$last" "$(now_ms)") ms after it was posted"

stop_server
echo "graceful shutdown: $STOPPED_MS ms; checkpoints: $(ls "$TIMELINE_CHECKPOINT_DIR" | tr '\n' ' ')"
start_server
echo "with checkpoints: a new post visible after $(one_post_visible) ms"
stop_server
rm -rf "$TIMELINE_CHECKPOINT_DIR"
start_server
echo "without checkpoints ($HISTORY + 2 records replayed from TRIM_HORIZON): a new post visible after $(one_post_visible) ms"
