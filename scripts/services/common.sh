# Settings and small helpers every services file uses: where things live, logging, the TCP
# probe, waiting for readiness, and the lock that serialises concurrent callers.
# Sourced first by scripts/services.sh; it starts nothing itself.
# shellcheck shell=bash
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
LOCAL_DIR="$ROOT/.local"
# shellcheck disable=SC2034 # used by the service files
LOG_DIR="$LOCAL_DIR/logs"
TIMEOUT="${TIMELINE_SERVICES_TIMEOUT:-90}"

log() { printf '[services] %s\n' "$*" >&2; }
die() {
  printf '[services] ERROR: %s\n' "$*" >&2
  exit 1
}

# "scheme://[user[:pass]@]host[:port][/path]" -> "host port" (IPv6 hosts in brackets).
host_port() {
  local url="$1" default_port="$2" rest host port
  rest="${url#*://}"
  rest="${rest##*@}"
  rest="${rest%%/*}"
  if [[ $rest == \[* ]]; then
    host="${rest%%]*}"
    host="${host#[}"
    port="${rest##*]}"
  else
    host="${rest%%:*}"
    port="${rest#"$host"}"
  fi
  port="${port#:}"
  echo "$host ${port:-$default_port}"
}

# We only start services on this machine; a remote endpoint is someone else's to run.
is_local_host() {
  case "$1" in
    127.* | localhost | ::1 | 0.0.0.0) return 0 ;;
    *) return 1 ;;
  esac
}

tcp_open() { timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

# Print the last lines of a log so a failed start explains itself.
show_log_tail() {
  local file="$1"
  if [[ -s $file ]]; then
    printf '[services] ---- last lines of %s ----\n' "$file" >&2
    tail -n 30 "$file" >&2
    printf '[services] ----\n' >&2
  else
    log "(log $file is empty or missing)"
  fi
}

# wait_until WHAT PID LOGFILE COMMAND...: wait until COMMAND succeeds; fail after TIMEOUT
# seconds. A PID (0 = none) is watched too, so a crashed process fails at once instead of
# after the whole timeout.
wait_until() {
  local what="$1" pid="$2" logfile="$3"
  shift 3
  local deadline=$((SECONDS + TIMEOUT))
  until "$@"; do
    if [[ $pid != 0 ]] && ! kill -0 "$pid" 2>/dev/null; then
      show_log_tail "$logfile"
      die "$what exited during start-up (see $logfile)"
    fi
    if ((SECONDS >= deadline)); then
      show_log_tail "$logfile"
      die "$what not ready after ${TIMEOUT}s (see $logfile; raise TIMELINE_SERVICES_TIMEOUT if the machine is slow)"
    fi
    sleep 0.25
  done
}

# Serialise up/down between concurrent callers (make dev and make test in two terminals).
# The lock lives as long as fd 9 is open anywhere, so every service is started with 9>&-:
# a daemon that inherited it would hold the lock for its whole life.
take_lock() {
  command -v flock >/dev/null || die "flock is missing (Debian package util-linux)"
  mkdir -p "$LOCAL_DIR"
  exec 9>"$LOCAL_DIR/services.lock"
  flock -w 600 9 || die "another services.sh has held .local/services.lock for 10 minutes"
}
