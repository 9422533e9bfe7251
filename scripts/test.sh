#!/usr/bin/env bash
# `make test` (and CI through .ci/run): every check the project gates on, in order, stopping at
# the first failure:
#   services   scripts/services.sh up (DynamoDB Local, Redis, Redis Cluster)
#   fmt        cargo fmt --all -- --check
#   deps       scripts/unused-deps.sh (no crate lists a dependency it does not use)
#   test       cargo build of every binary (the e2e tests run the Lambda ones), then cargo test
#              --workspace (with the service addresses exported)
# The last five run side by side, their outputs printed in turn: the four after clippy mostly
# wait on services (their own, or for the browser tests the ones above with tables of their
# own), so clippy's compile fills the idle cores (`make lint` runs clippy alone, first):
#   clippy     cargo clippy --workspace --all-targets -- -D warnings
#   loadtest   scripts/loadtest-suite.sh --ci: the load suite, CI-sized (a small graph, seconds
#              per scenario, on services of its own): every scenario runs and exports its
#              figures, the seeder and the plots work. It checks no timing.
#   faults     scripts/faults/campaign.py --short: the fault campaign, CI-sized, on the debug build
#              (docs/reliability.md; `make faults` runs the full one)
#   template   scripts/validate-template.sh, when that file exists (see check_template)
#   browser    scripts/browser-tests.sh: the web client in headless Chromium (tests/browser/)
# On exit it stops the services it started itself (not ones that were already running), unless
# TIMELINE_KEEP_SERVICES=1.
#
# DynamoDB Local, when started here, runs -inMemory (faster, and nothing a test writes needs to
# outlive the run); set TIMELINE_DDB_IN_MEMORY=0 to keep its data in .local/ddb-data/<port>.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# What the tests read to find the services (the same defaults as services.sh).
# shellcheck source=scripts/local-env.sh
source "$ROOT/scripts/local-env.sh"
export TIMELINE_REDIS_CLUSTER_URL="${TIMELINE_REDIS_CLUSTER_URL:-redis://127.0.0.1:7000}"
# The TLS-only Redis (self-signed; #insecure skips the certificate check in tests only).
export TIMELINE_REDIS_TLS_URL="${TIMELINE_REDIS_TLS_URL:-rediss://127.0.0.1:${TIMELINE_REDIS_TLS_PORT:-6390}/#insecure}"
export TIMELINE_DDB_IN_MEMORY="${TIMELINE_DDB_IN_MEMORY:-1}"
if [[ ${CI:-} == true ]]; then
  # A clean clone builds once: incremental artifacts only cost time and disk there.
  export CARGO_INCREMENTAL=0
fi

STARTED_RECORD="$(mktemp "${TMPDIR:-/tmp}/timeline-test-services.XXXXXX")"
SUMMARY=()

log() { printf '[test] %s\n' "$*" >&2; }

now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }

fmt_ms() { printf '%d.%01ds' $(($1 / 1000)) $((($1 % 1000) / 100)); }

# run_step NAME COMMAND...: runs one check, prints its elapsed time, exits on failure.
run_step() {
  local name="$1"
  shift
  local start rc=0 elapsed
  log "==> $name: $*"
  start="$(now_ms)"
  "$@" || rc=$?
  elapsed="$(fmt_ms $(($(now_ms) - start)))"
  if ((rc != 0)); then
    SUMMARY+=("$(printf '%-9s FAILED  %s' "$name" "$elapsed")")
    log "FAILED: step '$name' exited with status $rc after $elapsed"
    exit "$rc"
  fi
  SUMMARY+=("$(printf '%-9s ok      %s' "$name" "$elapsed")")
  log "<== $name ok ($elapsed)"
}

# run_side_by_side NAME=COMMAND...: runs checks at once (most of them mostly waiting on services,
# which leaves the cores to the one that compiles), so together they take about as long as the
# longest instead of the sum. Each one's output is kept and printed whole when it
# ends, with its elapsed time; exits after all have ended if any failed.
run_side_by_side() {
  local spec name pids=() names=() logs=() i rc failed=0 elapsed log_file
  for spec in "$@"; do
    name="${spec%%=*}"
    log_file="$(mktemp "${TMPDIR:-/tmp}/timeline-test-$name.XXXXXX")"
    log "==> $name (side by side): ${spec#*=}"
    # Each records its own elapsed time: they end in any order, and are waited for in turn.
    (
      start="$(now_ms)"
      rc=0
      bash -c "${spec#*=}" >"$log_file" 2>&1 || rc=$?
      echo $(($(now_ms) - start)) >"$log_file.ms"
      exit "$rc"
    ) &
    pids+=("$!") names+=("$name") logs+=("$log_file")
  done
  for i in "${!pids[@]}"; do
    rc=0
    wait "${pids[$i]}" || rc=$?
    elapsed="$(fmt_ms "$(cat "${logs[$i]}.ms" 2>/dev/null || echo 0)")"
    log "---- output of ${names[$i]} ----"
    cat "${logs[$i]}" >&2
    rm -f "${logs[$i]}" "${logs[$i]}.ms"
    if ((rc != 0)); then
      SUMMARY+=("$(printf '%-9s FAILED  %s (side by side)' "${names[$i]}" "$elapsed")")
      log "FAILED: step '${names[$i]}' exited with status $rc after $elapsed"
      failed=$rc
    else
      SUMMARY+=("$(printf '%-9s ok      %s (side by side)' "${names[$i]}" "$elapsed")")
      log "<== ${names[$i]} ok ($elapsed)"
    fi
  done
  ((failed == 0)) || exit "$failed"
}

# Hook for the SAM template checks (cfn-lint, sam validate) that another part of the project
# owns: runs scripts/validate-template.sh when it exists, and says so when it does not.
check_template() {
  local script="$ROOT/scripts/validate-template.sh"
  if [[ -f $script ]]; then
    bash "$script"
  else
    log "no scripts/validate-template.sh yet; template check skipped"
  fi
}

stop_our_services() {
  local started=()
  mapfile -t started <"$STARTED_RECORD"
  ((${#started[@]} > 0)) || return 0
  if [[ ${TIMELINE_KEEP_SERVICES:-0} == 1 ]]; then
    log "TIMELINE_KEEP_SERVICES=1: leaving ${started[*]} running (stop: scripts/services.sh down)"
  else
    log "stopping services started by this run: ${started[*]}"
    "$ROOT/scripts/services.sh" down "${started[@]}" || log "services.sh down failed; see scripts/services.sh status"
  fi
}

# Every test binary of the workspace; the output is kept for the closing count.
TEST_LOG="$(mktemp)"
# Every binary first: the e2e tests run the Lambda binaries under an emulated Runtime API, and
# the load suite and the fault campaign after them run the local server and the tools.
run_tests() {
  cargo build --workspace --bins
  cargo test --workspace 2>&1 | tee "$TEST_LOG"
}

# The last line: the tests counted over every test binary (cargo prints one line per binary,
# the last of them for doc-tests, which would otherwise close the run with "0 passed").
print_test_count() {
  [[ -s $TEST_LOG ]] || return 0
  awk '/^test result:/ { passed += $4; failed += $6 } END { printf "%d passed, %d failed\n", passed, failed }' "$TEST_LOG"
}

on_exit() {
  local rc=$?
  trap - EXIT INT TERM
  # Checks still running side by side (an interrupt, or another one failed): stop them, so they
  # stop their own services.
  local running
  running="$(jobs -pr)"
  if [[ -n $running ]]; then
    # shellcheck disable=SC2086 # one PID per word
    kill $running 2>/dev/null || true
    wait 2>/dev/null || true
  fi
  stop_our_services
  rm -f "$STARTED_RECORD"
  if ((${#SUMMARY[@]} > 0)); then
    log "step times:"
    printf '[test]   %s\n' "${SUMMARY[@]}" >&2
  fi
  print_test_count
  rm -f "$TEST_LOG"
  exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

command -v cargo >/dev/null || {
  log "cargo is not on PATH: install the Rust toolchain (rustup) first"
  exit 1
}
for component in fmt clippy; do
  cargo "$component" --version >/dev/null 2>&1 || {
    log "cargo $component is missing: rustup component add ${component/fmt/rustfmt}"
    exit 1
  }
done

total_start="$(now_ms)"
run_step services "$ROOT/scripts/services.sh" up --record "$STARTED_RECORD"
run_step fmt cargo fmt --all -- --check
run_step deps "$ROOT/scripts/unused-deps.sh"
run_step test run_tests
export ROOT
export -f check_template log
root="$(printf %q "$ROOT")"
run_side_by_side \
  "clippy=cargo clippy --workspace --all-targets -- -D warnings" \
  "loadtest=PREBUILT=1 $root/scripts/loadtest-suite.sh --ci" \
  "faults=$root/scripts/faults/campaign.py --short --binary $root/target/debug/timeline-local" \
  "template=check_template" \
  "browser=BINARY=$root/target/debug/timeline-local $root/scripts/browser-tests.sh"
log "all checks passed in $(fmt_ms $(($(now_ms) - total_start)))"
