# DynamoDB Local: is it answering, start it (Java, from the npm install), and `up` for it:
# reuse whatever answers, restart ours if it hangs, start it when missing.
# Data lives in .local/ddb-data/<port>, or nowhere with TIMELINE_DDB_IN_MEMORY=1.
# shellcheck shell=bash
set -euo pipefail

DDB_ENDPOINT="${TIMELINE_DYNAMODB_ENDPOINT:-http://127.0.0.1:8000}"
read -r DDB_HOST DDB_PORT <<<"$(host_port "$DDB_ENDPOINT" 8000)"
DDB_DATA_DIR="$LOCAL_DIR/ddb-data"

# A real DynamoDB answer, not just an open port: ListTables returns {"TableNames":[...]}.
# DynamoDB Local wants a SigV4-shaped Authorization header but does not check the signature.
ddb_ready() {
  curl -s --max-time 3 -X POST "$DDB_ENDPOINT" \
    -H 'X-Amz-Target: DynamoDB_20120810.ListTables' \
    -H 'Content-Type: application/x-amz-json-1.0' \
    -H 'Authorization: AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=x' \
    -d '{}' 2>/dev/null | grep -q TableNames
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
    ddb_wait_for_other
    return 0
  fi
  drop_record dynamodb
  ddb_start
}

# Something else holds the port: maybe a DynamoDB Local someone just started. Give it 20 s to
# answer before giving up.
ddb_wait_for_other() {
  local i
  for ((i = 0; i < 40; i++)); do
    ddb_ready && log "DynamoDB Local now answering at $DDB_ENDPOINT" && return 0
    sleep 0.5
  done
  die "port $DDB_PORT is taken by something that does not answer like DynamoDB; free it or set TIMELINE_DYNAMODB_ENDPOINT"
}

ddb_start() {
  local dir logfile="$LOG_DIR/dynamodb-$DDB_PORT.log" pid storage
  ddb_install
  dir="$(ddb_jar_dir)"
  require_java 17
  if [[ ${TIMELINE_DDB_IN_MEMORY:-0} == 1 ]]; then
    storage=(-inMemory)
  else
    # One folder per port: two instances must never share one SQLite file.
    mkdir -p "$DDB_DATA_DIR/$DDB_PORT"
    storage=(-dbPath "$DDB_DATA_DIR/$DDB_PORT")
  fi
  log "starting DynamoDB Local on port $DDB_PORT (${storage[*]}; log ${logfile#"$ROOT"/})"
  # setsid: own session, so a Ctrl-C in the terminal that ran `make dev` does not kill it
  # behind the scripts' back; the scripts stop it themselves through the recorded pid.
  # -sharedDb: one database whatever access key and region a client signs with.
  # 9>&-: the long-lived child must not inherit the lock descriptor (see take_lock).
  (cd "$LOCAL_DIR" && exec setsid java -Djava.library.path="$dir/DynamoDBLocal_lib" \
    -jar "$dir/DynamoDBLocal.jar" -port "$DDB_PORT" -sharedDb "${storage[@]}" \
    >"$logfile" 2>&1 </dev/null 9>&-) &
  pid=$!
  record_started dynamodb "$pid DynamoDBLocal.jar"
  wait_until "DynamoDB Local" "$pid" "$logfile" ddb_ready
  log "DynamoDB Local ready at $DDB_ENDPOINT (pid $pid)"
}

require_java() {
  (($(java_major) >= $1)) || die "DynamoDB Local needs Java $1+, found: $(java -version 2>&1 | head -n 1)"
}

# "17" for 17.0.2, "8" for 1.8.0_392.
java_major() {
  local v
  v="$(java -version 2>&1 | awk -F'"' '/version/ {print $2; exit}')"
  v="${v#1.}"
  echo "${v%%[.+-]*}"
}

# " in-memory" or " <data folder>" of the DynamoDB Local we started, read from its command
# line (for status).
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
