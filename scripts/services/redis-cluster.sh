# The 3-master Redis Cluster the tests check the cluster code path against: its health probe,
# and `up` for it (reuse a healthy one, rebuild ours from scratch when it is not, start three
# nodes on TIMELINE_REDIS_CLUSTER_URL's port and the next two and join them).
# shellcheck shell=bash
set -euo pipefail

CLUSTER_URL="${TIMELINE_REDIS_CLUSTER_URL:-redis://127.0.0.1:7000}"
read -r CLUSTER_HOST CLUSTER_PORT <<<"$(host_port "$CLUSTER_URL" 7000)"
CLUSTER_PORTS=("$CLUSTER_PORT" "$((CLUSTER_PORT + 1))" "$((CLUSTER_PORT + 2))")
CLUSTER_DIR="$LOCAL_DIR/redis-cluster"

# cluster_state:ok on every node: all 16384 slots are served and every node agrees.
cluster_healthy() {
  local port
  for port in "${CLUSTER_PORTS[@]}"; do
    timeout 3 redis-cli -h "$CLUSTER_HOST" -p "$port" cluster info 2>/dev/null |
      grep -q '^cluster_state:ok' || return 1
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
  drop_record redis-cluster
  cluster_ports_free
  # Stale nodes-*.conf files would make the new nodes believe in the old cluster's node ids.
  cluster_forget "$CLUSTER_PORT"
  log "starting Redis Cluster nodes on ports ${CLUSTER_PORTS[*]}"
  for port in "${CLUSTER_PORTS[@]}"; do
    redis_start_node redis-cluster "$port" "$CLUSTER_DIR" \
      --cluster-enabled yes --cluster-config-file "$CLUSTER_DIR/nodes-$port.conf" \
      --cluster-node-timeout 5000
    pids+=("$STARTED_PID")
  done
  cluster_create
  log "Redis Cluster ready at redis://$CLUSTER_HOST:${CLUSTER_PORTS[0]} (pids ${pids[*]})"
}

cluster_ports_free() {
  local port
  for port in "${CLUSTER_PORTS[@]}"; do
    ! tcp_open "$CLUSTER_HOST" "$port" ||
      die "port $port is in use but the cluster there is not healthy; it was not started by these scripts, so stop it yourself (or set TIMELINE_REDIS_CLUSTER_URL)"
  done
}

# Join the three fresh nodes into one cluster and wait until every node agrees.
cluster_create() {
  local port nodes=() logfile="$LOG_DIR/redis-cluster-$CLUSTER_PORT-create.log"
  for port in "${CLUSTER_PORTS[@]}"; do nodes+=("127.0.0.1:$port"); done
  timeout 60 redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes \
    >"$logfile" 2>&1 || {
    show_log_tail "$logfile"
    die "redis-cli --cluster create failed"
  }
  # The nodes gossip the new slot map for a moment after create returns.
  wait_until "Redis Cluster (cluster_state:ok)" 0 "$logfile" cluster_healthy
}

# Remove the state files of the cluster whose first node is on port $1.
cluster_forget() {
  local port
  for port in "$1" "$(($1 + 1))" "$(($1 + 2))"; do
    rm -f "$CLUSTER_DIR/nodes-$port.conf" "$CLUSTER_DIR/redis-$port.pid"
  done
}
