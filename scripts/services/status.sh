# `services.sh status`: one line per service saying what answers where and who started it;
# exit 0 when everything answers, 1 otherwise.
# shellcheck shell=bash
set -euo pipefail

cmd_status() {
  local with_cluster=1 rc=0 state
  [[ ${1:-} == --no-cluster ]] && with_cluster=0
  command -v redis-cli >/dev/null || log "redis-cli is not installed (scripts/services.sh up installs it)"
  echo "Local services:"
  if ddb_ready; then state="up$(ddb_mode)"; else state=down rc=1; fi
  status_line dynamodb "$DDB_ENDPOINT" "$state"
  if redis_ping "$REDIS_HOST" "$REDIS_PORT"; then state=up; else state=down rc=1; fi
  status_line redis "redis://$REDIS_HOST:$REDIS_PORT" "$state"
  if ((with_cluster)); then
    if cluster_healthy; then state="up (cluster_state:ok)"; else state=down rc=1; fi
    status_line redis-cluster "redis://$CLUSTER_HOST:${CLUSTER_PORTS[0]}-${CLUSTER_PORTS[2]}" "$state"
    if tls_ping; then state=up; else state=down rc=1; fi
    status_line redis-tls "rediss://127.0.0.1:$TLS_PORT" "$state"
  fi
  return "$rc"
}

# status_line NAME ADDRESS STATE: the line, with who started the service.
status_line() {
  local name="$1" addr="$2" state="$3" owner=""
  if started_by_us "$name"; then
    owner="started by scripts (pid $(recorded_pids "$name"))"
  elif [[ $state == up* ]]; then
    owner="not started by these scripts"
  fi
  printf '  %-14s %-28s %-26s %s\n' "$name" "$addr" "$state" "$owner"
}
