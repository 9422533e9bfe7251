#!/usr/bin/env bash
# `make build`: sam build of every function (cargo-lambda, arm64), with the prerequisites checked
# first so that a missing piece is named instead of failing deep inside the build.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

need_pip_tool() { # command, pip package
  command -v "$1" >/dev/null && return
  echo "[build] installing $2 with pip"
  python3 -m pip install --quiet "$2" || { echo "[build] cannot install $2: pip install $2" >&2; exit 1; }
}

need_pip_tool sam aws-sam-cli
need_pip_tool cargo-lambda cargo-lambda

# The functions run on arm64 (Graviton): the aarch64 standard library must be installed.
target=aarch64-unknown-linux-gnu
if ! rustup target list --installed | grep -qx "$target"; then
  echo "[build] installing the $target standard library with rustup"
  if ! rustup target add "$target"; then
    cat >&2 <<MSG
[build] The $target standard library could not be installed (this machine cannot download
        toolchains). Install it where downloads work (rustup target add $target) or build
        for x86_64 by changing Architectures in template.yaml. Nothing was built.
MSG
    exit 1
  fi
fi

start=$(date +%s)
sam build --parallel "$@"
echo "[build] sam build took $(( $(date +%s) - start )) s"
for bootstrap in .aws-sam/build/*/bootstrap; do
  [[ -f $bootstrap ]] && printf '[build] %-40s %s\n' "$bootstrap" "$(du -h "$bootstrap" | cut -f1)"
done
