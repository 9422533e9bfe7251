#!/usr/bin/env bash
# Validates template.yaml offline: cfn-lint, then `sam validate --lint`, then a check that the
# custom metrics the alarms and dashboard use are metrics the code emits. Any error or warning
# fails the script (exit status non-zero). No AWS credentials or network access to AWS needed.
#
# Installs cfn-lint and aws-sam-cli with pip when they are missing: into the current Python
# environment when pip may write there, otherwise into a private virtualenv under
# ${XDG_CACHE_HOME:-~/.cache}/timeline-template-tools (for Debian's externally managed Python).
#
# Called by `make test` (scripts/test.sh) when present; run it alone with
#   scripts/validate-template.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

TEMPLATE=template.yaml
TELEMETRY_RS=store/src/telemetry.rs
PYTHON=${PYTHON:-python3}

# sam validate needs a region to resolve pseudo parameters; nothing is sent to AWS.
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
export AWS_REGION="${AWS_REGION:-$AWS_DEFAULT_REGION}"
export SAM_CLI_TELEMETRY=0

log() { printf 'validate-template: %s\n' "$*" >&2; }

# Make console scripts installed by pip findable (user site and the interpreter's scripts dir).
add_python_bin_dirs() {
  local d
  for d in "$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_path("scripts"))' 2>/dev/null || true)" \
           "$("$PYTHON" -m site --user-base 2>/dev/null || true)/bin"; do
    if [[ -n "$d" && -d "$d" && ":$PATH:" != *":$d:"* ]]; then
      PATH="$PATH:$d"
    fi
  done
  export PATH
}

VENV="${XDG_CACHE_HOME:-$HOME/.cache}/timeline-template-tools"

ensure_tools() {
  # Reuse the private virtualenv of an earlier run.
  if [[ -x "$VENV/bin/cfn-lint" && -x "$VENV/bin/sam" ]] &&
     ! { command -v cfn-lint && command -v sam; } >/dev/null 2>&1; then
    PATH="$VENV/bin:$PATH"
    export PATH
  fi

  local missing=()
  command -v cfn-lint >/dev/null 2>&1 || missing+=(cfn-lint)
  command -v sam >/dev/null 2>&1 || missing+=(aws-sam-cli)
  ((${#missing[@]} == 0)) && return 0

  log "installing ${missing[*]} with pip"
  if "$PYTHON" -m pip install --quiet "${missing[@]}" 2>/dev/null; then
    hash -r
    add_python_bin_dirs
  else
    # e.g. Debian's "externally-managed-environment" (PEP 668): use a private virtualenv.
    log "pip cannot install into $PYTHON's environment; using a virtualenv at $VENV"
    [[ -x "$VENV/bin/pip" ]] || "$PYTHON" -m venv "$VENV"
    "$VENV/bin/pip" install --quiet cfn-lint aws-sam-cli
    PATH="$VENV/bin:$PATH"
    export PATH
  fi

  command -v cfn-lint >/dev/null 2>&1 || { log "cfn-lint still not on PATH after install"; exit 1; }
  command -v sam >/dev/null 2>&1 || { log "sam still not on PATH after install"; exit 1; }
}

add_python_bin_dirs
ensure_tools

[[ -f "$TEMPLATE" ]] || { log "$TEMPLATE not found"; exit 1; }

status=0

log "cfn-lint $(cfn-lint --version 2>&1 | awk '{print $2}')"
# cfn-lint exits non-zero for any error (2) or warning (4).
if cfn-lint "$TEMPLATE"; then
  log "cfn-lint: no errors, no warnings"
else
  log "cfn-lint: FAILED"
  status=1
fi

log "$(sam --version 2>&1)"
# `sam validate --lint` runs cfn-lint's rules on the SAM template and fails on any match.
if sam_out=$(sam validate --lint --template "$TEMPLATE" 2>&1); then
  printf '%s\n' "$sam_out"
  log "sam validate --lint: passed"
else
  printf '%s\n' "$sam_out" >&2
  log "sam validate --lint: FAILED"
  status=1
fi

# The alarms and the dashboard must name only metrics the code emits (store/src/telemetry.rs),
# in namespace TimelineService with the dimension service=timeline.
if [[ -f "$TELEMETRY_RS" ]]; then
  if "$PYTHON" - "$TEMPLATE" "$TELEMETRY_RS" <<'PY'
import re
import sys

template = open(sys.argv[1], encoding="utf-8").read()
code = open(sys.argv[2], encoding="utf-8").read()

emitted = set(re.findall(r'pub const [A-Z0-9_]+: &str = "([A-Za-z0-9]+)";', code))
emitted.discard("TimelineService")
ns = re.search(r'pub const NAMESPACE: &str = "([^"]+)";', code)
problems = []
if ns and ns.group(1) != "TimelineService":
    problems.append(f"namespace in code is {ns.group(1)!r}, template uses 'TimelineService'")

used = set()
# Alarms: Namespace: TimelineService followed by MetricName: X
for m in re.finditer(r"Namespace: TimelineService\s*\n\s*MetricName: (\w+)", template):
    used.add(m.group(1))
# Dashboard rows: ["TimelineService", "X", "service", "timeline", ...]
for m in re.finditer(r'\["TimelineService", "(\w+)", ([^\]]*)', template):
    used.add(m.group(1))
    if not m.group(2).startswith('"service", "timeline"'):
        problems.append(f"dashboard metric {m.group(1)} lacks the service=timeline dimension first")

for name in sorted(used - emitted):
    problems.append(f"template uses metric {name!r}, which {sys.argv[2]} does not define")
for name in sorted(emitted - used):
    problems.append(f"metric {name!r} is emitted but neither alarmed nor on the dashboard")

if problems:
    print("\n".join(problems), file=sys.stderr)
    sys.exit(1)
print(f"metric names: {len(used)} used in the template, all defined in the code")
PY
  then
    log "metric names: consistent with $TELEMETRY_RS"
  else
    log "metric names: FAILED"
    status=1
  fi
else
  log "metric names: $TELEMETRY_RS not found, skipped"
fi

# The web client's uploader (make deploy) reads stack outputs: the template must declare them,
# and an offline run on sample outputs must write a config and list the files.
if "$PYTHON" scripts/deploy-web.py --check-template "$TEMPLATE" &&
  "$PYTHON" scripts/deploy-web.py --outputs tests/fixtures/web-stack-outputs.json --dry-run >/dev/null; then
  log "web client upload: the outputs it reads are declared"
else
  log "web client upload: FAILED"
  status=1
fi

if ((status == 0)); then
  log "template OK"
else
  log "template validation FAILED"
fi
exit "$status"
