# Standalone Redis (the timeline cache) and the TLS-only Redis (as ElastiCache Serverless is;
# self-signed certificate, started with the cluster, for the tests): probes, `up` for each,
# and redis_start_node, which the cluster nodes use too.
# shellcheck shell=bash
set -euo pipefail

REDIS_URL="${TIMELINE_REDIS_URL:-redis://127.0.0.1:6379}"
read -r REDIS_HOST REDIS_PORT <<<"$(host_port "$REDIS_URL" 6379)"
TLS_PORT="${TIMELINE_REDIS_TLS_PORT:-6390}"
TLS_DIR="$LOCAL_DIR/tls"
STARTED_PID="" # the pid of the last redis_start_node

redis_ping() { [[ $(timeout 3 redis-cli -h "$1" -p "$2" ping 2>/dev/null) == PONG ]]; }
# Any TLS Redis on the port will do (another checkout's, say): its certificate is not checked,
# as the tests do not check it either.
tls_ping() { [[ $(timeout 3 redis-cli --tls --insecure -h 127.0.0.1 -p "$TLS_PORT" ping 2>/dev/null) == PONG ]]; }

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
  drop_record redis
  log "starting Redis on port $REDIS_PORT (log .local/logs/redis-$REDIS_PORT.log)"
  redis_start_node redis "$REDIS_PORT" "$LOCAL_DIR"
  log "Redis ready at redis://$REDIS_HOST:$REDIS_PORT (pid $STARTED_PID)"
}

tls_up() {
  tls_cert
  if tls_ping; then
    log "Redis (TLS) already answering at rediss://127.0.0.1:$TLS_PORT"
    return 0
  fi
  if started_by_us redis-tls; then
    stop_recorded redis-tls
  elif tcp_open 127.0.0.1 "$TLS_PORT"; then
    die "port $TLS_PORT is taken by something that is not a TLS Redis; free it or set TIMELINE_REDIS_TLS_PORT"
  fi
  drop_record redis-tls
  log "starting Redis with TLS on port $TLS_PORT (log .local/logs/redis-tls-$TLS_PORT.log)"
  redis_start_node redis-tls "$TLS_PORT" "$TLS_DIR"
  log "Redis (TLS) ready at rediss://127.0.0.1:$TLS_PORT (pid $STARTED_PID)"
}

# A self-signed certificate for 127.0.0.1, made once and shared by every port.
tls_cert() {
  [[ ! -s $TLS_DIR/cert.pem || ! -s $TLS_DIR/key.pem ]] || return 0
  mkdir -p "$TLS_DIR"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -keyout "$TLS_DIR/key.pem" -out "$TLS_DIR/cert.pem" 2>/dev/null ||
    die "openssl could not make the test certificate"
}

# redis_start_node SERVICE PORT WORKDIR [OPTION...]: start one daemonized redis-server, record
# it under SERVICE, wait until it answers, and set STARTED_PID. Options are appended (the
# cluster's). No persistence: the cache is rebuilt from DynamoDB by design.
redis_start_node() {
  local service="$1" port="$2" workdir="$3"
  shift 3
  local pidfile="$workdir/redis-$port.pid" logfile="$LOG_DIR/$service-$port.log"
  local listen=(--port "$port")
  if [[ $service == redis-tls ]]; then
    listen=(--port 0 --tls-port "$port" --tls-cert-file "$TLS_DIR/cert.pem" --tls-key-file "$TLS_DIR/key.pem"
      --tls-ca-cert-file "$TLS_DIR/cert.pem" --tls-auth-clients no)
  fi
  mkdir -p "$workdir"
  rm -f "$pidfile"
  : >"$logfile"
  # 9>&-: the daemon must not inherit the lock descriptor (see take_lock).
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
  wait_until "redis-server on port $port" "$STARTED_PID" "$logfile" node_answers "$service" "$port"
}

# PING the node of SERVICE on PORT the way it listens.
node_answers() {
  if [[ $1 == redis-tls ]]; then tls_ping; else redis_ping 127.0.0.1 "$2"; fi
}
