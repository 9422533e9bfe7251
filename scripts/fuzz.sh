#!/usr/bin/env bash
# Fuzz a running timeline server against its REST contract, docs/openapi.yaml, with
# schemathesis. Bounded: every phase stops by itself (and the whole run is also under a time
# limit), then the schemathesis summary is printed, followed by a short one of ours.
#
#   TIMELINE_TABLE_PREFIX=fuzz- TIMELINE_HTTP_ADDR=127.0.0.1:3100 TIMELINE_METRICS_ADDR=off cargo run --bin timeline-local -- serve
#   TIMELINE_BASE_URL=http://127.0.0.1:3100 scripts/fuzz.sh
#
# With the default posting limit (300/3h) a long run soon gets 429 on POST /tweets, which the
# contract allows, so stateful chains (post, read, delete) end early; start the server with
# TIMELINE_POST_LIMIT=off to fuzz them deeper. schemathesis warns that GET /users/{user_id}/timeline
# "mostly rejected generated data": that is the 403 for every user_id but the caller's.
#
# What it does:
#   1. installs schemathesis with pip when it is missing;
#   2. mints local HS256 tokens (`timeline-local token`, so the server's TIMELINE_JWT_SECRET must
#      match this shell's, default `timeline-local-dev-secret`) for a fresh fuzz caller and a
#      second user, creates both profiles and posts one tweet, so authorized routes have a real
#      caller and path parameters have real values to start from;
#   3. copies docs/openapi.yaml with those real IDs added as parameter examples (the contract is
#      not changed) and runs schemathesis on it with the caller's token on every request;
#   4. exits non-zero when a check failed.
#
# Checks: not_a_server_error, status_code_conformance, content_type_conformance,
# response_schema_conformance, response_headers_conformance (Location on 201, Retry-After on
# 429), plus two of ours (written to a temporary hooks module): json_utf8_content_type (every
# response with a body is exactly `application/json; charset=utf-8`) and contract_semantics (a
# resource read is the one the path names, Location points at the created resource, pages hold
# at most `limit` items, tweet pages are newest first without duplicates).
#
# Settings (environment):
#   TIMELINE_BASE_URL   server under test                   (default http://127.0.0.1:3000)
#   FUZZ_MAX_EXAMPLES   test cases per operation and phase   (default 50)
#   FUZZ_PHASES         schemathesis phases                  (default examples,coverage,fuzzing,stateful)
#   FUZZ_MODE           positive | negative | all            (default all)
#   FUZZ_CHECKS         comma-separated check names          (default: the ones above)
#   FUZZ_SEED           hypothesis seed, for a reproducible run (default: random, printed)
#   FUZZ_WORKERS        concurrent workers                   (default 1: with more, Python 3.11's
#                       ast module is not thread-safe and hypothesis trips over it)
#   FUZZ_TIMEOUT        hard limit of the whole run, seconds (default 1800)
#   FUZZ_REPORT_DIR     reports (JUnit, NDJSON, reproducible pytest file) (default target/fuzz)
#   FUZZ_USER           the caller's user ID                 (default fuzz-<time>-<pid>)
#   FUZZ_TOKEN          use this bearer token instead of minting one for FUZZ_USER
#   FUZZ_TARGET_TOKEN   likewise for the second user (FUZZ_USER-target by default)
# Extra arguments are passed to `schemathesis run` as they are.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

BASE_URL="${TIMELINE_BASE_URL:-http://127.0.0.1:3000}"
BASE_URL="${BASE_URL%/}"
MAX_EXAMPLES="${FUZZ_MAX_EXAMPLES:-50}"
PHASES="${FUZZ_PHASES:-examples,coverage,fuzzing,stateful}"
MODE="${FUZZ_MODE:-all}"
CHECKS="${FUZZ_CHECKS:-not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance,json_utf8_content_type,contract_semantics}"
SEED="${FUZZ_SEED:-$(( (RANDOM << 15) | RANDOM ))}"
WORKERS="${FUZZ_WORKERS:-1}"
TIMEOUT="${FUZZ_TIMEOUT:-1800}"
REPORT_DIR="${FUZZ_REPORT_DIR:-$ROOT/target/fuzz}"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
JUNIT="$REPORT_DIR/junit-$STAMP.xml"
SPEC="$ROOT/docs/openapi.yaml"
FUZZ_USER="${FUZZ_USER:-fuzz-$(date +%s)-$$}"
TARGET_USER="${FUZZ_USER}-target"

log() { printf 'fuzz: %s\n' "$*" >&2; }
die() { log "$*"; exit 2; }

# --- 1. tools -----------------------------------------------------------------------------
command -v curl >/dev/null || die "curl is required"
command -v python3 >/dev/null || die "python3 is required"
if ! command -v schemathesis >/dev/null; then
    log "installing schemathesis"
    python3 -m pip install --quiet schemathesis || die "could not install schemathesis"
    command -v schemathesis >/dev/null || die "schemathesis is installed but not on PATH"
fi
log "$(schemathesis --version)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/timeline-fuzz.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$REPORT_DIR"

# --- 2. the server, tokens, a real caller -------------------------------------------------
for _ in $(seq 1 30); do
    curl -fsS -o /dev/null "$BASE_URL/health" 2>/dev/null && break
    sleep 1
done
curl -fsS -o /dev/null "$BASE_URL/health" || die "no server answers at $BASE_URL/health (start one; see the top of this script)"

# A local token for a user ID: `timeline-local token`, or, when that cannot be built right now,
# the same HS256 token (sub, exp in 24 h) signed here with TIMELINE_JWT_SECRET or its default.
mint() {
    local token
    if token="$(cargo run -q --bin timeline-local -- token "$1" 2>/dev/null | tail -n 1)" && [[ -n "$token" ]]; then
        printf '%s\n' "$token"
        return
    fi
    log "cargo run --bin timeline-local -- token $1 failed; signing the token here"
    python3 - "$1" "${TIMELINE_JWT_SECRET:-timeline-local-dev-secret}" <<'PY'
import base64, hashlib, hmac, json, sys, time

def b64(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

sub, secret = sys.argv[1:]
head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
body = b64(json.dumps({"sub": sub, "exp": int(time.time()) + 24 * 3600}).encode())
mac = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
print(f"{head}.{body}.{b64(mac)}")
PY
}
TOKEN="${FUZZ_TOKEN:-$(mint "$FUZZ_USER")}"
TARGET_TOKEN="${FUZZ_TARGET_TOKEN:-$(mint "$TARGET_USER")}"
[[ -n "$TOKEN" && -n "$TARGET_TOKEN" ]] || die "empty token"

# call METHOD PATH TOKEN [JSON]: prints the status code; the body goes to $WORK/body.
call() {
    local args=(-sS -o "$WORK/body" -w '%{http_code}' -X "$1" "$BASE_URL$2" -H "Authorization: Bearer $3")
    if [[ $# -ge 4 ]]; then
        args+=(-H 'Content-Type: application/json' --data-binary "$4")
    fi
    curl "${args[@]}"
}

# Usernames: 15 characters at most, unique per run.
SUFFIX="$(python3 -c 'import secrets,string; print("".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(9)))')"
for who in caller target; do
    if [[ $who == caller ]]; then tok=$TOKEN name="fz_$SUFFIX"; else tok=$TARGET_TOKEN name="ft_$SUFFIX"; fi
    status="$(call POST /users "$tok" "{\"username\":\"$name\",\"display_name\":\"fuzz $who\"}")"
    case "$status" in
        201) ;;
        409) log "the $who already has a profile; keeping it" ;;
        *) die "POST /users for the $who: $status $(cat "$WORK/body")" ;;
    esac
done
# The usernames and IDs the profiles really have (they may predate this run).
read_field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$WORK/body" "$1"; }
CALLER_ID="$(python3 -c 'import base64,json,sys; p=sys.argv[1].split(".")[1]; print(json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))["sub"])' "$TOKEN")"
status="$(call GET "/users/$CALLER_ID" "$TOKEN")"
[[ $status == 200 ]] || die "GET /users/$CALLER_ID: $status $(cat "$WORK/body")"
USERNAME="$(read_field username)"
TARGET_ID="$(python3 -c 'import base64,json,sys; p=sys.argv[1].split(".")[1]; print(json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))["sub"])' "$TARGET_TOKEN")"
status="$(call PUT "/users/$CALLER_ID/following/$TARGET_ID" "$TOKEN")"
[[ $status == 204 ]] || die "PUT /users/$CALLER_ID/following/$TARGET_ID: $status $(cat "$WORK/body")"
status="$(call POST /tweets "$TOKEN" '{"text":"fuzz: a tweet to start from"}')"
if [[ $status == 201 ]]; then
    TWEET_ID="$(read_field tweet_id)"
else
    # A caller kept from earlier runs may be over the posting limit: reuse one of its tweets.
    log "POST /tweets: $status $(cat "$WORK/body"); reusing the caller's newest tweet"
    status="$(call GET "/users/$CALLER_ID/tweets?limit=1" "$TOKEN")"
    TWEET_ID="$(python3 -c 'import json,sys; items=json.load(open(sys.argv[1]))["items"]; print(items[0]["tweet_id"] if items else "")' "$WORK/body")"
    [[ $status == 200 && -n $TWEET_ID ]] || die "no tweet to start from"
fi
log "caller $CALLER_ID (@$USERNAME), target $TARGET_ID, tweet $TWEET_ID"

# --- 3. the spec with real examples, the extra check, the run -----------------------------
python3 - "$SPEC" "$WORK/openapi.yaml" "$CALLER_ID" "$TARGET_ID" "$USERNAME" "$TWEET_ID" <<'PY'
import sys
import yaml

source, target, caller, followee, username, tweet = sys.argv[1:]
doc = yaml.safe_load(open(source, encoding="utf-8"))
examples = {"user_id": caller, "target_id": followee, "username": username, "tweet_id": tweet}

def visit(node):
    if isinstance(node, dict):
        if node.get("in") == "path" and node.get("name") in examples:
            node["example"] = examples[node["name"]]
        for value in node.values():
            visit(value)
    elif isinstance(node, list):
        for value in node:
            visit(value)

visit(doc)
yaml.safe_dump(doc, open(target, "w", encoding="utf-8"), sort_keys=False, allow_unicode=True)
PY

cat >"$WORK/timeline_fuzz_hooks.py" <<'PY'
"""Checks of docs/API.md that the OpenAPI document cannot express."""
import schemathesis


def _header(response, name):
    values = response.headers.get(name.lower()) or response.headers.get(name) or []
    return values[0] if isinstance(values, list) and values else (values or None)


@schemathesis.check
def json_utf8_content_type(ctx, response, case):
    """Every JSON response is exactly `Content-Type: application/json; charset=utf-8`."""
    if response.status_code == 204 or not response.content:
        return None
    value = _header(response, "Content-Type")
    if value != "application/json; charset=utf-8":
        raise AssertionError(f"Content-Type is {value!r}, expected 'application/json; charset=utf-8'")
    return None


@schemathesis.check
def contract_semantics(ctx, response, case):
    """What a success must be about: the resource the path names, pages in the promised order."""
    if not 200 <= response.status_code < 300 or response.status_code == 204:
        return None
    body = response.json()
    params = case.path_parameters or {}
    route = f"{case.method.upper()} {case.path}"
    if route == "GET /tweets/{tweet_id}" and body.get("tweet_id") != params.get("tweet_id"):
        raise AssertionError(f"asked for tweet {params.get('tweet_id')!r}, got tweet {body.get('tweet_id')!r}")
    if route == "GET /users/{user_id}" and body.get("user_id") != params.get("user_id"):
        raise AssertionError(f"asked for user {params.get('user_id')!r}, got user {body.get('user_id')!r}")
    if route == "GET /users/by-username/{username}":
        asked, got = str(params.get("username", "")), str(body.get("username", ""))
        if asked.lower() != got.lower():
            raise AssertionError(f"asked for @{asked}, got @{got}")
    if route in ("POST /tweets", "POST /users"):
        key = "tweet_id" if route == "POST /tweets" else "user_id"
        expected = f"/{key.split('_')[0]}s/{body.get(key)}"
        if _header(response, "Location") != expected:
            raise AssertionError(f"Location is {_header(response, 'Location')!r}, expected {expected!r}")
    if isinstance(body, dict) and "items" in body:
        limit = (case.query or {}).get("limit", 20)
        try:
            limit = int(limit)
        except (TypeError, ValueError):
            limit = 100
        items = body["items"]
        if len(items) > limit:
            raise AssertionError(f"{len(items)} items for limit={limit}")
        if items and "tweet_id" in items[0]:
            ids = [item["tweet_id"] for item in items]
            if ids != sorted(set(ids), reverse=True):
                raise AssertionError("tweets are not newest first without duplicates")
            if route == "GET /users/{user_id}/tweets":
                others = {item["author_id"] for item in items} - {params.get("user_id")}
                if others:
                    raise AssertionError(f"the author's tweets include tweets by {sorted(others)}")
    return None
PY

log "running schemathesis against $BASE_URL: phases $PHASES, mode $MODE, max examples $MAX_EXAMPLES, seed $SEED"
set +e
PYTHONPATH="$WORK${PYTHONPATH:+:$PYTHONPATH}" SCHEMATHESIS_HOOKS=timeline_fuzz_hooks \
    timeout --kill-after=30 "$TIMEOUT" \
    schemathesis run "$WORK/openapi.yaml" \
    --url "$BASE_URL" \
    --header "Authorization: Bearer $TOKEN" \
    --checks "$CHECKS" \
    --phases "$PHASES" \
    --mode "$MODE" \
    --max-examples "$MAX_EXAMPLES" \
    --seed "$SEED" \
    --workers "$WORKERS" \
    --request-timeout 15 \
    --generation-database none \
    --suppress-health-check all \
    --report junit,ndjson,pytest \
    --report-dir "$REPORT_DIR" \
    --report-junit-path "$JUNIT" \
    --report-ndjson-path "$REPORT_DIR/events-$STAMP.ndjson" \
    --report-pytest-path "$REPORT_DIR/reproduce-$STAMP.py" \
    --no-color \
    "$@"
rc=$?
set -e

# --- 4. summary ---------------------------------------------------------------------------
echo
echo "== fuzz summary =="
echo "server:   $BASE_URL"
echo "caller:   $CALLER_ID (@$USERNAME)"
echo "seed:     $SEED (FUZZ_SEED=$SEED reproduces the generated data)"
echo "reports:  $REPORT_DIR"
NDJSON="$REPORT_DIR/events-$STAMP.ndjson"
if [[ -f "$NDJSON" ]]; then
    python3 - "$NDJSON" <<'PY' || true
import collections
import json
import sys

statuses = collections.defaultdict(collections.Counter)
failed = collections.Counter()
for line in open(sys.argv[1], encoding="utf-8"):
    event = json.loads(line)
    finished = event.get("ScenarioFinished")
    if not finished:
        continue
    recorder = finished["recorder"]
    for case_id, interaction in (recorder.get("interactions") or {}).items():
        case = recorder["cases"].get(case_id, {}).get("value", {})
        label = recorder.get("label") or "?"
        if label.startswith("Stateful") or label == "?":
            label = "stateful: " + f"{case.get('method', '?')} {case.get('path', '?')}"
        response = interaction.get("response")
        statuses[label][response["status_code"] if response else "no response"] += 1
    for case_id, checks in (recorder.get("checks") or {}).items():
        for check in checks:
            if check.get("status") == "failure":
                failed[f"{recorder.get('label')}: {check['name']}"] += 1
total = sum(sum(c.values()) for c in statuses.values())
print(f"requests: {total} over {len(statuses)} operations (stateful steps listed apart)")
for label in sorted(statuses):
    codes = ", ".join(f"{code}x{n}" for code, n in sorted(statuses[label].items(), key=lambda kv: str(kv[0])))
    print(f"  {label:55} {codes}")
if failed:
    print("failed checks:")
    for what, n in sorted(failed.items()):
        print(f"  {what} ({n})")
PY
fi
if [[ $rc -eq 124 || $rc -eq 137 ]]; then
    echo "result:   stopped by the ${TIMEOUT}s time limit"
elif [[ $rc -eq 0 ]]; then
    echo "result:   no failures"
else
    echo "result:   failures (schemathesis exit code $rc); see above"
fi
exit "$rc"
