# What these scripts started, so `down` stops only that: .local/started/<service>-<port>, one
# "pid pattern" line per process. Keyed by port too, so a run on other ports (TIMELINE_*
# overrides) never stops the processes of another. `up --record FILE` also lists the names
# of the services one invocation started, for dev.sh and test.sh.
# shellcheck shell=bash
set -euo pipefail

STARTED_DIR="$LOCAL_DIR/started"
ALL_SERVICES=(dynamodb redis redis-cluster redis-tls)
RECORD_FILE="" # set by `up --record FILE`

# Is PID alive and is its command line still the one we started? Guards against pid reuse:
# a recorded pid may belong to an unrelated process after a reboot.
pid_matches() {
  local pid="$1" pattern="$2" cmdline
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [[ -r /proc/$pid/cmdline ]] || return 1
  cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
  [[ $cmdline == *"$pattern"* ]]
}

# The record name of SERVICE on its configured port.
key_of() {
  case "$1" in
    dynamodb) echo "dynamodb-$DDB_PORT" ;;
    redis) echo "redis-$REDIS_PORT" ;;
    redis-cluster) echo "redis-cluster-$CLUSTER_PORT" ;;
    redis-tls) echo "redis-tls-$TLS_PORT" ;;
    *) die "unknown service '$1' (known: ${ALL_SERVICES[*]})" ;;
  esac
}

# record_started SERVICE "PID PATTERN": written before the process is ready, so one that
# never becomes ready is still stopped by `down`.
record_started() {
  local service="$1" line="$2"
  mkdir -p "$STARTED_DIR"
  printf '%s\n' "$line" >>"$STARTED_DIR/$(key_of "$service")"
  if [[ -n $RECORD_FILE ]] && ! grep -qx "$service" "$RECORD_FILE"; then
    echo "$service" >>"$RECORD_FILE"
  fi
}

# A record whose processes are gone says nothing; drop it before starting afresh.
drop_record() { rm -f "$STARTED_DIR/$(key_of "$1")"; }

# True when the record of SERVICE names at least one live process that is still ours.
started_by_us() {
  local record pid pattern
  record="$STARTED_DIR/$(key_of "$1")"
  [[ -f $record ]] || return 1
  while read -r pid pattern; do
    pid_matches "$pid" "$pattern" && return 0
  done <"$record"
  return 1
}

# The recorded pids of SERVICE, comma-separated (for status).
recorded_pids() { awk '{printf "%s%s", sep, $1; sep=","}' "$STARTED_DIR/$(key_of "$1")"; }

stop_recorded() { stop_key "$(key_of "$1")"; }

# TERM each process of record KEY that is still ours, then KILL what has not exited after 15 s.
stop_key() {
  local key="$1" pid pattern pids=()
  [[ -f $STARTED_DIR/$key ]] || return 0
  while read -r pid pattern; do
    pid_matches "$pid" "$pattern" || continue
    kill -TERM "$pid" 2>/dev/null || true
    pids+=("$pid")
  done <"$STARTED_DIR/$key"
  wait_gone "${pids[@]}"
  kill_survivors "$key" "${pids[@]}"
  rm -f "$STARTED_DIR/$key"
  if ((${#pids[@]} == 0)); then
    log "$key: nothing of ours was running (stale record removed)"
  else
    log "$key: stopped (pid ${pids[*]})"
  fi
}

any_alive() {
  local pid
  for pid; do kill -0 "$pid" 2>/dev/null && return 0; done
  return 1
}

# Give the PIDs up to 15 s to exit.
wait_gone() {
  local i
  for ((i = 0; i < 60; i++)); do
    any_alive "$@" || return 0
    sleep 0.25
  done
}

kill_survivors() {
  local key="$1" pid
  shift
  for pid; do
    kill -0 "$pid" 2>/dev/null || continue
    log "$key: pid $pid ignored SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  done
}
