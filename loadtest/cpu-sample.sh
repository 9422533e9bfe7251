#!/usr/bin/env bash
# Where the machine's CPU goes during a load-suite run (docs/benchmarks.md, "Where a read's CPU
# goes"): once a second, the CPU time (utime + stime, in clock ticks, 100 per second on Linux)
# used so far by the server, the suite's Redis, k6 and DynamoDB Local, one line per second:
#
#   <epoch seconds> server=<ticks> redis=<ticks> k6=<ticks> dynamodb=<ticks>
#
# Run it beside the suite and stop it with Ctrl-C; the difference of two lines divided by the
# requests served between them is CPU per request. On two shared cores the load generator's
# share is part of the figure: k6 and Redis run on the cores the server runs on.
#
# Usage: loadtest/cpu-sample.sh [REDIS_PORT]      (default 6700, the suite's)
set -euo pipefail
REDIS_PORT="${1:-6700}"
[[ $REDIS_PORT =~ ^[0-9]+$ ]] || { echo "cpu-sample.sh: REDIS_PORT must be a port number, not '$REDIS_PORT'" >&2; exit 2; }

# Ticks used so far by every process whose command line matches the pattern (0 when none runs).
ticks() {
  local pid total=0 used
  for pid in $(pgrep -f -- "$1" || true); do
    used=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null) || continue
    total=$((total + used))
  done
  echo "$total"
}

while true; do
  echo "$(date +%s) server=$(ticks 'timeline-local[^ ]* serve') redis=$(ticks "redis-server 127.0.0.1:$REDIS_PORT")" \
    "k6=$(ticks 'k6 run') dynamodb=$(ticks DynamoDBLocal)"
  sleep 1
done
