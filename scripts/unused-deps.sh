#!/usr/bin/env bash
# Fails when a crate's Cargo.toml lists a dependency that its code never names (cargo-machete),
# so an unused dependency cannot land. `make lint` and `make test` run it. The tool is installed
# from crates.io into cargo's bin folder the first time (about two minutes on two cores).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

MACHETE_VERSION=0.9.2

if ! command -v cargo-machete >/dev/null; then
  echo "[lint] installing cargo-machete $MACHETE_VERSION (once per machine)" >&2
  cargo install --locked --quiet cargo-machete --version "$MACHETE_VERSION"
fi
exec cargo machete --skip-target-dir
